-- The user types on the insertion line while the session writes: Neovim reports the server's next
-- insert before that (now non-empty) line as a replace inside it. Every line must land exactly once,
-- the count must match, and what the user typed stays, below the generated lines.
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

local task = H.start()
local ends = H.record("VigorEnd")
local strict = task.client.handlers["workspace/applyEdit"]
local applied = 0
task.client.handlers["workspace/applyEdit"] = function(...)
  local answer = strict(...)
  applied = applied + 1
  if applied == 1 then
    -- the line under the first generated line is where the next one goes: type there
    local row = task.cursor[1] + 1
    vim.api.nvim_buf_set_text(task.bufnr, row, 0, row, 0, { "    # typed" })
  end
  return answer
end

vim.cmd("VigorGenerate")
local done = H.wait_end(ends)
H.check(done.outcome == "completed", ("outcome %s (%s)"):format(done.outcome, tostring(done.detail)))
H.check(done.lines == #task.expected, ("%d lines reported, %d generated"):format(done.lines, #task.expected))
H.once(task.bufnr, task.expected)
H.once(task.bufnr, { "    # typed" })
local lines = H.lines(task.bufnr)
local at = task.cursor[1] + #task.expected + 1
H.check(lines[at] == "    # typed", "the typed line is not right below the generated lines:\n" .. H.text(task.bufnr))
H.compiles(task.bufnr)
H.pass(task)
