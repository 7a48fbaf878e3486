-- VIGOR for Neovim: a thin client of the `vigor-lsp` language server (docs/editors.md).
--
-- The server does the work; this module starts it with Neovim's built-in LSP client, sends the three
-- commands, shows progress and answers `workspace/applyEdit` strictly (lua/vigor/edits.lua).

local edits = require("vigor.edits")

local M = {}

M.defaults = {
  -- The server command; `{ "python3", "-m", "vigor_lsp" }` works without the console script on PATH.
  cmd = { "vigor-lsp" },
  -- Extra environment for the server (API keys are read from the variable named by settings.apiKeyEnv).
  cmd_env = nil,
  -- The `vigor` settings (camelCase, as in docs/editors.md): baseUrl, model, apiKeyEnv, candidates, ...
  settings = {},
  filetypes = { "python" },
  root_markers = { "pyproject.toml", "setup.py", "setup.cfg", ".git" },
  -- Echo each step in the command line.
  show_steps = true,
  -- How to open a session's trace page (a path); nil: vim.ui.open.
  open_trace = nil,
}

M.config = vim.deepcopy(M.defaults)

-- Live sessions by buffer: { id = session id or nil until the server answers, edits = applied edits }.
local sessions = {}
-- The latest session id per buffer, kept after it ended (for :VigorTrace).
local latest = {}

local function notify(msg, level)
  vim.notify("VIGOR: " .. msg, level or vim.log.levels.INFO)
end

local function fire(pattern, data)
  vim.api.nvim_exec_autocmds("User", { pattern = pattern, data = data, modeline = false })
end

--- client:method(...) on Neovim 0.11, client.method(...) on 0.10.
local function call(client, method, ...)
  if vim.fn.has("nvim-0.11") == 1 then
    return client[method](client, ...)
  end
  return client[method](...)
end

local function request(client, method, params, handler, bufnr)
  return call(client, "request", method, params, handler, bufnr)
end

local function execute(client, command, argument, handler, bufnr)
  return request(client, "workspace/executeCommand", { command = command, arguments = { argument } }, handler, bufnr)
end

local function bufnr_of(uri)
  local bufnr = vim.uri_to_bufnr(uri)
  return vim.api.nvim_buf_is_valid(bufnr) and bufnr or nil
end

--- The live session of a buffer (used by the applyEdit handler to join undo steps).
function M.session(bufnr)
  return sessions[bufnr]
end

local function on_step(_, params)
  local bufnr = params and bufnr_of(params.uri)
  local session = bufnr and sessions[bufnr]
  if session then
    session.id = session.id or params.sessionId
    session.steps = (params.step or 0) + 1
  end
  if M.config.show_steps and params then
    local line = params.line ~= vim.NIL and params.line or nil -- null: nothing written at this step
    local text = line and ("wrote %q"):format(line) or "done"
    vim.api.nvim_echo({ { ("VIGOR step %d: %s"):format((params.step or 0) + 1, text) } }, false, {})
  end
  fire("VigorStep", params)
end

--- How a session's outcome reads: finished code that fails its examples says so, never just "completed".
function M.outcome_text(params)
  local ex = type(params.examples) == "table" and params.examples or nil
  if params.outcome == "failed_examples" then
    return ex and ("fails %d of %d example(s)"):format(ex.failed or 0, ex.ran or 0) or "fails its examples"
  end
  if params.outcome == "completed" and ex and (ex.ran or 0) > 0 then
    return ("completed, %d/%d example(s) pass"):format(ex.passed or 0, ex.ran)
  end
  return (tostring(params.outcome):gsub("_", " "))
end

local function on_end(_, params)
  if not params then
    return
  end
  local bufnr = bufnr_of(params.uri)
  if bufnr then
    sessions[bufnr] = nil
    latest[bufnr] = params.sessionId
  end
  local level = params.outcome == "completed" and vim.log.levels.INFO or vim.log.levels.WARN
  local detail = (params.detail and params.detail ~= vim.NIL and params.detail ~= "") and (" (" .. params.detail .. ")")
    or ""
  notify(("%s, %d line(s)%s; trace: %s"):format(M.outcome_text(params), params.lines or 0, detail, params.htmlPath), level)
  fire("VigorEnd", params)
end

--- Open a trace page; false when there is no opener (:VigorTrace then prints the path, once).
local function open_path(path)
  if M.config.open_trace then
    M.config.open_trace(path)
    return true
  elseif vim.ui.open then
    local _, err = vim.ui.open(path)
    return not err
  end
  return false
end

--- window/showDocument: external trace pages go to `open_trace` without blocking the editor.
local function on_show_document(err, params, ctx, config)
  if params and params.external and vim.startswith(params.uri, "file://") then
    return { success = open_path(vim.uri_to_fname(params.uri)) }
  end
  return vim.lsp.handlers["window/showDocument"](err, params, ctx, config)
end

local function root_dir(bufnr)
  local root = vim.fs.root and vim.fs.root(bufnr, M.config.root_markers)
  if root then
    return root
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  return name ~= "" and vim.fs.dirname(name) or vim.fn.getcwd()
end

--- Start (or reuse) the vigor client for a buffer; answers the client id.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local settings = M.config.settings or {}
  return vim.lsp.start({
    name = "vigor",
    cmd = M.config.cmd,
    cmd_env = M.config.cmd_env,
    root_dir = root_dir(bufnr),
    init_options = { vigor = settings },
    -- answers the server's workspace/configuration request for the `vigor` section
    settings = { vigor = settings },
    -- every didChange goes out at once: the server waits for it to confirm each streamed line
    flags = { debounce_text_changes = 0 },
    on_exit = function(_, _, client_id)
      for buf, session in pairs(sessions) do
        if session.client_id == client_id then
          sessions[buf] = nil
        end
      end
    end,
    handlers = {
      ["workspace/applyEdit"] = edits.handler(M.session),
      ["window/showDocument"] = on_show_document,
      ["vigor/step"] = on_step,
      ["vigor/end"] = on_end,
    },
  }, { bufnr = bufnr })
end

--- The vigor client of a buffer, or nil.
function M.client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr or 0, name = "vigor" })[1]
end

--- Run `fn(client)` once the buffer's client is initialized (attaching it first if needed).
local function with_client(bufnr, fn)
  local client = M.client(bufnr)
  if not client then
    local id = M.attach(bufnr)
    client = id and vim.lsp.get_client_by_id(id)
  end
  if not client then
    return notify("the server could not be started (see :checkhealth vigor)", vim.log.levels.ERROR)
  end
  local waited = 0
  local function try()
    if client.initialized then
      return fn(client)
    end
    if call(client, "is_stopped") or waited > 10000 then
      return notify("the server did not start (see :checkhealth vigor and :LspLog)", vim.log.levels.ERROR)
    end
    waited = waited + 20
    vim.defer_fn(try, 20)
  end
  try()
end

local function report_error(err)
  return notify(err.message or tostring(err), vim.log.levels.ERROR)
end

--- :VigorGenerate [instruction]: generate at the cursor of the current buffer.
function M.generate(instruction)
  local bufnr = vim.api.nvim_get_current_buf()
  local win = vim.api.nvim_get_current_win()
  if sessions[bufnr] then
    return notify("a session is already running in this buffer (:VigorCancel)", vim.log.levels.WARN)
  end
  with_client(bufnr, function(client)
    local position = vim.api.nvim_win_call(win, function()
      return vim.lsp.util.make_position_params(win, client.offset_encoding).position
    end)
    local argument = {
      textDocument = { uri = vim.uri_from_bufnr(bufnr), version = vim.lsp.util.buf_versions[bufnr] },
      position = position,
      instruction = (instruction and instruction ~= "") and instruction or nil,
    }
    local session = { edits = 0, steps = 0, client_id = client.id }
    sessions[bufnr] = session
    execute(client, "vigor.generate", argument, function(err, result)
      if err then
        if sessions[bufnr] == session then
          sessions[bufnr] = nil
        end
        return report_error(err)
      end
      session.id = result.sessionId
      latest[bufnr] = result.sessionId
      fire("VigorStart", { sessionId = result.sessionId, anchor = result.anchor, bufnr = bufnr })
    end, bufnr)
  end)
end

--- The current buffer and its running vigor client; the client is nil (and the user told) without one.
local function current_client()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  if not client then
    notify("no vigor client in this buffer", vim.log.levels.WARN)
  end
  return bufnr, client
end

--- :VigorCancel: cancel the session of the current buffer (else the server's latest one).
function M.cancel()
  local bufnr, client = current_client()
  if not client then
    return
  end
  local session = sessions[bufnr]
  execute(client, "vigor.cancel", { sessionId = session and session.id or nil }, function(err, result)
    if err then
      return report_error(err)
    end
    if not (result and result.cancelled) then
      notify("no running session to cancel")
    end
  end, bufnr)
end

--- :VigorTrace: open the trace page of the buffer's latest session and echo its path.
function M.trace()
  local bufnr, client = current_client()
  if not client then
    return
  end
  local session = sessions[bufnr]
  local id = (session and session.id) or latest[bufnr]
  execute(client, "vigor.openTrace", { sessionId = id }, function(err, path)
    if err then
      return report_error(err)
    end
    notify("trace: " .. tostring(path))
    fire("VigorTrace", { path = path })
  end, bufnr)
end

--- Replace the settings of running clients (sent as workspace/didChangeConfiguration).
function M.set_settings(settings)
  M.config.settings = settings
  for _, client in ipairs(vim.lsp.get_clients({ name = "vigor" })) do
    client.settings = { vigor = settings }
    call(client, "notify", "workspace/didChangeConfiguration", { settings = { vigor = settings } })
  end
end

--- require("vigor").setup{ cmd, cmd_env, settings, filetypes, root_markers, show_steps, open_trace }
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  if opts and opts.settings then
    M.config.settings = opts.settings -- lists (e.g. in runPolicy) are not merged with the defaults
  end
  local group = vim.api.nvim_create_augroup("vigor", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      M.attach(bufnr)
    end
  end
end

return M
