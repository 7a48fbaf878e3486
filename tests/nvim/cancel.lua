-- :VigorCancel from the first vigor/step ends the session `cancelled`, with the lines written so far
-- in place and nothing else touched.
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

local task = H.start()
local ends = H.record("VigorEnd")
local cancelled = false
vim.api.nvim_create_autocmd("User", {
  pattern = "VigorStep",
  once = true,
  callback = function()
    vim.cmd("VigorCancel")
    cancelled = true
  end,
})
vim.cmd("VigorGenerate sum the hypotenuses of the pairs")
local done = H.wait_end(ends)
H.check(cancelled, "no vigor/step before vigor/end")
H.check(done.outcome == "cancelled", ("outcome %s (%s)"):format(done.outcome, tostring(done.detail)))
H.check(done.lines >= 1 and done.lines < #task.expected, ("%d lines written"):format(done.lines))
local written = vim.list_slice(task.expected, 1, done.lines)
H.check(
  vim.deep_equal(H.lines(task.bufnr), H.with_lines(task.original, task.cursor[1], written)),
  "inconsistent buffer after cancel:\n" .. H.text(task.bufnr)
)
H.pass(task)
