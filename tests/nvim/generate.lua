-- A whole session in a real headless Neovim against the real server: the buffer ends as the scenario
-- expects, one :undo takes the session's lines out, and :VigorTrace answers the trace page.
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

local opened = {}
local task = H.start({
  open_trace = function(path)
    table.insert(opened, path)
  end,
})
local steps, ends, traces = H.record("VigorStep"), H.record("VigorEnd"), H.record("VigorTrace")

-- An interactive Neovim closes the undo block between the user's commands; a headless one never does,
-- so close it before every edit here: the session must still come out as one undo step.
local strict = task.client.handlers["workspace/applyEdit"]
task.client.handlers["workspace/applyEdit"] = function(...)
  vim.cmd("let &g:undolevels = &g:undolevels")
  return strict(...)
end

vim.cmd("VigorGenerate")
local done = H.wait_end(ends)
H.check(done.outcome == "completed", ("outcome %s (%s)"):format(done.outcome, tostring(done.detail)))
H.check(done.lines == #task.expected, ("%d lines written, expected %d"):format(done.lines, #task.expected))
-- the docstring's example ran on the final code (the oracle in the editor)
H.check(
  type(done.examples) == "table" and done.examples.ran == 1 and done.examples.passed == 1,
  "examples: " .. vim.inspect(done.examples)
)
H.check(#steps > 0, "no vigor/step notification")
H.check(require("vigor").session(task.bufnr) == nil, "the session is still marked live after vigor/end")

local final = H.lines(task.bufnr)
H.check(
  vim.deep_equal(final, H.with_lines(task.original, task.cursor[1], task.expected)),
  "unexpected buffer:\n" .. H.text(task.bufnr)
)
if task.out then
  local f = assert(io.open(task.out, "w"))
  f:write(H.text(task.bufnr))
  f:close()
end

-- the session left its trace
H.check(vim.fn.filereadable(done.tracePath) == 1, "no trace file at " .. tostring(done.tracePath))

vim.cmd("VigorTrace")
H.check(
  vim.wait(5000, function()
    return #traces > 0 and #opened > 0
  end, 20),
  "VigorTrace: no path answered or nothing opened"
)
H.check(traces[1].path == done.htmlPath, "VigorTrace answered " .. tostring(traces[1].path))
H.check(opened[1] == done.htmlPath, "window/showDocument opened " .. tostring(opened[1]))

-- one undo step for the whole session
vim.cmd("silent undo")
H.check(
  vim.deep_equal(H.lines(task.bufnr), task.original),
  "one :undo did not restore the original buffer:\n" .. H.text(task.bufnr)
)
H.pass(task)
