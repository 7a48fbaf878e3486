-- A new function body at the end of the file (no line after the cursor): Neovim inserting past the
-- last line adds an empty line. Every line lands once, the count matches, and the file compiles.
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

local kept = 0
H.rewrite_task(function(text)
  -- keep everything up to the docstring's closing quotes (the scenario's cursor line is right after)
  local cursor = tonumber(H.env("VIGOR_TEST_CURSOR"):match("^(%d+)"))
  local lines = vim.split(text, "\n", { plain = true })
  kept = cursor
  return table.concat(vim.list_slice(lines, 1, cursor), "\n") .. "\n"
end)
-- the cursor at the end of the last line: the session writes below it, past the end of the file
vim.env.VIGOR_TEST_CURSOR = ("%d,7"):format(kept - 1)
local task = H.start()
H.check(#task.original == kept, ("the buffer has %d lines, expected %d"):format(#task.original, kept))
local ends = H.record("VigorEnd")
vim.cmd("VigorGenerate")
local done = H.wait_end(ends)
H.check(done.outcome == "completed", ("outcome %s (%s)"):format(done.outcome, tostring(done.detail)))
H.check(done.lines == #task.expected, ("%d lines reported, %d generated"):format(done.lines, #task.expected))
H.once(task.bufnr, task.expected)
local lines = H.lines(task.bufnr)
H.check(
  vim.deep_equal(vim.list_slice(lines, 1, kept + #task.expected), H.with_lines(task.original, kept, task.expected)),
  "unexpected buffer:\n" .. H.text(task.bufnr)
)
H.compiles(task.bufnr)
H.pass(task)
