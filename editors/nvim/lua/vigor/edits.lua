-- The strict workspace/applyEdit handler of the vigor client.
--
-- Neovim's default handler skips a TextDocumentEdit whose version is older than the buffer's and still
-- answers "applied"; the VIGOR server would then wait for a didChange that never comes. This handler
-- refuses the whole edit instead (applied = false, "stale version"), so the server re-locates its region
-- and retries at once. Edits of a running session are joined into one undo step.

local M = {}

--- Whether `version` names a version (servers send null for "any version").
local function versioned(version)
  return type(version) == "number"
end

--- The buffer of `uri`, loaded (an edit to a file that is not open still has to land somewhere).
local function buffer_of(uri)
  local bufnr = vim.uri_to_bufnr(uri)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    vim.fn.bufload(bufnr)
  end
  return bufnr
end

--- The (uri, edits, version) triples of a WorkspaceEdit, or nil when it holds resource operations
--- (create/rename/delete), which this handler leaves to Neovim's own implementation.
function M.text_edits(edit)
  local out = {}
  if edit.documentChanges then
    for _, change in ipairs(edit.documentChanges) do
      if change.kind or not change.textDocument then
        return nil
      end
      table.insert(out, { uri = change.textDocument.uri, version = change.textDocument.version, edits = change.edits })
    end
  elseif edit.changes then
    for uri, edits in pairs(edit.changes) do
      table.insert(out, { uri = uri, edits = edits })
    end
  end
  return out
end

--- The first stale document of `docs` as a failure reason, or nil when every version matches.
function M.stale(docs)
  for _, doc in ipairs(docs) do
    if versioned(doc.version) then
      local bufnr = buffer_of(doc.uri)
      local current = vim.lsp.util.buf_versions[bufnr]
      if doc.version ~= current then
        return ("stale version: %s is at version %d, the edit was made for version %d"):format(
          doc.uri,
          current,
          doc.version
        )
      end
    end
  end
  return nil
end

--- Start or continue the undo block of a session: the first edit closes whatever the user typed
--- before it, every later one joins the previous (undojoin fails after an undo: that edit then starts
--- a new block, which is what the user asked for by undoing).
local function join_undo(session)
  if session.edits == 0 then
    vim.cmd("let &g:undolevels = &g:undolevels")
  else
    pcall(vim.cmd.undojoin)
  end
  session.edits = session.edits + 1
end

--- A handler for `handlers["workspace/applyEdit"]`. `session_of(bufnr)` answers the live session of a
--- buffer (a table with an `edits` count) or nil.
function M.handler(session_of)
  return function(_, params, ctx)
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    if not (client and params and params.edit) then
      return { applied = false, failureReason = "no client or no edit" }
    end
    local docs = M.text_edits(params.edit)
    if docs == nil then
      local ok, err = pcall(vim.lsp.util.apply_workspace_edit, params.edit, client.offset_encoding)
      return { applied = ok, failureReason = (not ok) and tostring(err) or nil }
    end
    local reason = M.stale(docs)
    if reason then
      return { applied = false, failureReason = reason }
    end
    for _, doc in ipairs(docs) do
      local bufnr = buffer_of(doc.uri)
      local session = session_of and session_of(bufnr)
      if session then
        vim.api.nvim_buf_call(bufnr, function()
          join_undo(session)
        end)
      end
      local ok, err = pcall(vim.lsp.util.apply_text_edits, doc.edits, bufnr, client.offset_encoding)
      if not ok then
        return { applied = false, failureReason = tostring(err) }
      end
    end
    return { applied = true }
  end
end

return M
