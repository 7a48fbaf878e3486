-- The strict applyEdit handler refuses an edit made for an older version instead of skipping it:
-- first on hand-made params, then live, with the user typing right before the server's first edit is
-- handled (the server re-locates its region and retries with the new version).
local dir = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
package.path = dir .. "/?.lua;" .. package.path
local H = require("harness")

local task = H.start()
local bufnr, client = task.bufnr, task.client
local uri = vim.uri_from_bufnr(bufnr)
local handler = client.handlers["workspace/applyEdit"]
H.check(handler ~= nil and handler ~= vim.lsp.handlers["workspace/applyEdit"], "no strict applyEdit handler")

local function insert(version, text)
  local at = { line = 0, character = 0 }
  return {
    edit = {
      documentChanges = {
        {
          textDocument = { uri = uri, version = version },
          edits = { { range = { start = at, ["end"] = at }, newText = text } },
        },
      },
    },
  }
end
local ctx = { client_id = client.id, method = "workspace/applyEdit" }
local version = vim.lsp.util.buf_versions[bufnr]

local refused = handler(nil, insert(version - 1, "# stale\n"), ctx)
H.check(refused.applied == false, "a stale edit was answered " .. vim.inspect(refused))
H.check(tostring(refused.failureReason):find("stale version", 1, true), "no reason: " .. vim.inspect(refused))
H.check(vim.deep_equal(H.lines(bufnr), task.original), "a refused edit changed the buffer")

local newer = handler(nil, insert(version + 5, "# from the future\n"), ctx)
H.check(newer.applied == false, "an edit for a future version was applied")

local applied = handler(nil, insert(version, "# current\n"), ctx)
H.check(applied.applied == true, "an edit for the current version was refused " .. vim.inspect(applied))
H.check(H.lines(bufnr)[1] == "# current", "the applied edit is not in the buffer")

local unversioned = handler(nil, insert(vim.NIL, "# any version\n"), ctx)
H.check(unversioned.applied == true, "an unversioned edit was refused")
H.check(H.lines(bufnr)[1] == "# any version", "the unversioned edit is not in the buffer")

-- back to the task buffer; the server has seen every change (didChange is not debounced)
vim.api.nvim_buf_set_lines(bufnr, 0, 2, false, {})
H.check(vim.deep_equal(H.lines(bufnr), task.original), "could not restore the task buffer")
vim.api.nvim_win_set_cursor(0, { task.cursor[1] + 1, task.cursor[2] })

-- live: the user types a comment at the end of the buffer just before the first edit is handled
local answers = {}
client.handlers["workspace/applyEdit"] = function(err, params, c, config)
  if #answers == 0 then
    local n = vim.api.nvim_buf_line_count(bufnr)
    vim.api.nvim_buf_set_lines(bufnr, n, n, false, { "# typed by the user" })
  end
  local answer = handler(err, params, c, config)
  table.insert(answers, answer)
  return answer
end
local ends = H.record("VigorEnd")
vim.cmd("VigorGenerate")
local done = H.wait_end(ends)
H.check(#answers >= 2 and answers[1].applied == false, "the first edit was not refused: " .. vim.inspect(answers))
H.check(done.outcome == "completed", ("outcome %s (%s)"):format(done.outcome, tostring(done.detail)))
local expected = H.with_lines(task.original, task.cursor[1], task.expected)
table.insert(expected, "# typed by the user")
H.check(vim.deep_equal(H.lines(bufnr), expected), "unexpected buffer:\n" .. H.text(bufnr))
H.pass(task)
