-- doc/vigor.txt is valid help: :helptags builds its tags without error and :help finds the commands.
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

local copy = vim.fn.tempname()
vim.fn.mkdir(copy .. "/doc", "p")
vim.fn.writefile(vim.fn.readfile(H.repo .. "/editors/nvim/doc/vigor.txt"), copy .. "/doc/vigor.txt")
local ok, err = pcall(vim.cmd.helptags, vim.fn.fnameescape(copy .. "/doc"))
H.check(ok, "helptags failed: " .. tostring(err))
vim.opt.rtp:prepend(copy)
for _, tag in ipairs({ "vigor.txt", ":VigorGenerate", ":VigorCancel", ":VigorTrace", "vigor-settings", "vigor-health" }) do
  local found, msg = pcall(vim.cmd.help, tag)
  H.check(found, ("no help for %s: %s"):format(tag, tostring(msg)))
  H.check(vim.fs.basename(vim.api.nvim_buf_get_name(0)) == "vigor.txt", tag .. " is not in vigor.txt")
  vim.cmd.helpclose()
end
io.stdout:write("PASS\n")
os.exit(0)
