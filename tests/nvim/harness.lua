-- Shared by the headless Neovim tests (`nvim --headless -u NONE -l tests/nvim/<test>.lua`): puts
-- editors/nvim on the runtimepath, reads the task that tests/editors/scenario.py hands over through the
-- environment, opens the buffer and starts the vigor client against the real server.

local H = {}

local here = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
H.repo = vim.fs.dirname(vim.fs.dirname(here))

function H.fail(msg)
  io.stderr:write("FAIL: " .. msg .. "\n")
  io.stderr:flush()
  os.exit(1)
end

function H.check(cond, msg)
  if not cond then
    H.fail(msg)
  end
end

function H.env(name)
  local value = os.getenv(name)
  H.check(value and value ~= "", "missing environment variable " .. name)
  return value
end

function H.lines(bufnr)
  return vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false)
end

function H.text(bufnr)
  return table.concat(H.lines(bufnr), "\n") .. "\n"
end

--- The scenario's buffer with `lines` inserted at the cursor line (what a session writes).
function H.with_lines(original, at, lines)
  local out = vim.list_slice(original, 1, at)
  vim.list_extend(out, lines)
  vim.list_extend(out, vim.list_slice(original, at + 1))
  return out
end

--- Loads the plugin, opens the task buffer and waits for the initialized vigor client.
--- Answers a table: bufnr, client, cursor {line, character}, expected (the lines the session writes).
function H.start(opts)
  vim.opt.rtp:prepend(H.repo .. "/editors/nvim")
  vim.cmd("filetype on")
  vim.cmd.runtime("plugin/vigor.lua")
  H.check(vim.fn.exists(":VigorGenerate") == 2, "plugin/vigor.lua did not define :VigorGenerate")
  local task = {
    settings = vim.json.decode(H.env("VIGOR_TEST_SETTINGS")),
    expected = vim.json.decode(H.env("VIGOR_TEST_EXPECTED_LINES")),
    out = os.getenv("VIGOR_TEST_OUT"),
  }
  local row, col = H.env("VIGOR_TEST_CURSOR"):match("^(%d+),(%d+)$")
  task.cursor = { tonumber(row), tonumber(col) }
  require("vigor").setup(vim.tbl_extend("force", {
    cmd = vim.split(H.env("VIGOR_TEST_SERVER"), " ", { trimempty = true }),
    settings = task.settings,
  }, opts or {}))
  vim.cmd.edit(vim.fn.fnameescape(H.env("VIGOR_TEST_BUFFER_FILE")))
  task.bufnr = vim.api.nvim_get_current_buf()
  H.check(vim.bo.filetype == "python", "the task buffer is not python: " .. vim.bo.filetype)
  H.check(
    vim.wait(15000, function()
      local client = require("vigor").client(task.bufnr)
      return client ~= nil and client.initialized
    end, 20),
    "the vigor client did not start and initialize"
  )
  task.client = require("vigor").client(task.bufnr)
  H.check(task.client.flags.debounce_text_changes == 0, "didChange debouncing is not off")
  task.original = H.lines(task.bufnr)
  vim.api.nvim_win_set_cursor(0, { task.cursor[1] + 1, task.cursor[2] })
  return task
end

--- Subscribes to a User event of the plugin; answers the list the events' data are appended to.
function H.record(pattern)
  local seen = {}
  vim.api.nvim_create_autocmd("User", {
    pattern = pattern,
    callback = function(args)
      table.insert(seen, args.data)
    end,
  })
  return seen
end

--- Waits for the session's vigor/end and answers its params.
function H.wait_end(ends, timeout_ms)
  H.check(
    vim.wait(timeout_ms or 30000, function()
      return #ends > 0
    end, 20),
    "no vigor/end within the timeout"
  )
  return ends[1]
end

--- Checks that each of `expected` is exactly one line of the buffer (no line lost, none twice).
function H.once(bufnr, expected)
  local counts = {}
  for _, line in ipairs(H.lines(bufnr)) do
    counts[line] = (counts[line] or 0) + 1
  end
  for _, line in ipairs(expected) do
    H.check(counts[line] == 1, ("%q is in the buffer %d time(s):\n%s"):format(line, counts[line] or 0, H.text(bufnr)))
  end
end

--- Checks that the buffer compiles as Python (with the interpreter that runs the server).
function H.compiles(bufnr)
  local python = vim.split(H.env("VIGOR_TEST_SERVER"), " ", { trimempty = true })[1]
  local out = vim.fn.system({ python, "-c", "import ast, sys; ast.parse(sys.stdin.read())" }, H.text(bufnr))
  H.check(vim.v.shell_error == 0, "the buffer does not compile: " .. out .. "\n" .. H.text(bufnr))
end

--- Rewrites the task file before H.start opens it (a different buffer for the same scripted answer).
function H.rewrite_task(fn)
  local path = H.env("VIGOR_TEST_BUFFER_FILE")
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  f = assert(io.open(path, "wb"))
  f:write(fn(text))
  f:close()
end

--- Stops the client (the server exits) and ends Neovim with status 0.
function H.pass(task)
  if task and task.client then
    vim.lsp.stop_client(task.client.id)
    vim.wait(3000, function()
      return task.client:is_stopped()
    end, 20)
  end
  io.stdout:write("PASS\n")
  io.stdout:flush()
  os.exit(0)
end

return H
