-- :checkhealth vigor runs headless and reports no error for a working setup.
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

local task = H.start()
local ok, err = pcall(vim.cmd, "checkhealth vigor")
H.check(ok, "checkhealth failed: " .. tostring(err))
local report = table.concat(H.lines(0), "\n")
io.stdout:write(report .. "\n")
H.check(report:find("vigor", 1, true) ~= nil, "no vigor section in the report")
H.check(report:find("imports vigor_lsp", 1, true) ~= nil, "no vigor_lsp import check in the report")
H.check(report:find("VIGOR_TEST_KEY", 1, true) ~= nil, "no key variable check in the report")
H.check(report:find("ERROR", 1, true) == nil, "the report has errors")
H.check(report:find("WARNING", 1, true) == nil, "the report has warnings")
H.pass(task)
