-- VIGOR user commands. They load lua/vigor only when used; the client starts from require("vigor").setup{}.
if vim.g.loaded_vigor then
  return
end
vim.g.loaded_vigor = true

vim.api.nvim_create_user_command("VigorGenerate", function(opts)
  require("vigor").generate(opts.args)
end, { nargs = "*", desc = "VIGOR: generate guided code at the cursor (optional instruction)" })

vim.api.nvim_create_user_command("VigorCancel", function()
  require("vigor").cancel()
end, { nargs = 0, desc = "VIGOR: cancel the generation in this buffer" })

vim.api.nvim_create_user_command("VigorTrace", function()
  require("vigor").trace()
end, { nargs = 0, desc = "VIGOR: open the trace page of this buffer's latest session" })
