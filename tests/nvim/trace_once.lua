-- :VigorTrace with no page opener that works prints the trace path once (it used to print it twice).
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

vim.ui.open = function()
  return nil, "no opener on this machine"
end
local task = H.start()
local ends, traces = H.record("VigorEnd"), H.record("VigorTrace")
local messages = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(messages, msg)
  return notify(msg, level, opts)
end
vim.cmd("VigorGenerate")
local done = H.wait_end(ends)
local before = #messages
vim.cmd("VigorTrace")
H.check(vim.wait(5000, function()
  return #traces > 0
end, 20), "VigorTrace answered nothing")
vim.wait(300) -- anything printed late would be counted too
local printed = 0
for i = before + 1, #messages do
  if messages[i]:find(done.htmlPath, 1, true) then
    printed = printed + 1
  end
end
H.check(printed == 1, ("the trace path was printed %d time(s): %s"):format(printed, vim.inspect(vim.list_slice(messages, before + 1))))
H.pass(task)
