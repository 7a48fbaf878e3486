-- A CRLF file (`fileformat=dos`): Neovim's didChange carries "\r\n". Every line lands once, the count
-- matches, and the file keeps its line endings.
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

H.rewrite_task(function(text)
  return (text:gsub("\n", "\r\n"))
end)
local task = H.start()
H.check(vim.bo[task.bufnr].fileformat == "dos", "the task file was not read as dos: " .. vim.bo[task.bufnr].fileformat)
local ends = H.record("VigorEnd")
vim.cmd("VigorGenerate")
local done = H.wait_end(ends)
H.check(done.outcome == "completed", ("outcome %s (%s)"):format(done.outcome, tostring(done.detail)))
H.check(done.lines == #task.expected, ("%d lines reported, %d generated"):format(done.lines, #task.expected))
H.check(
  vim.deep_equal(H.lines(task.bufnr), H.with_lines(task.original, task.cursor[1], task.expected)),
  "unexpected buffer:\n" .. H.text(task.bufnr)
)
H.check(vim.bo[task.bufnr].fileformat == "dos", "the buffer lost its dos line endings")
H.pass(task)
