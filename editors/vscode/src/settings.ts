// VS Code's `vigor` configuration section -> what the server reads (docs/editors.md, "Settings").
// Pure functions over a `get(key)` reader, so they are tested without VS Code.

/** The part of a vscode.WorkspaceConfiguration this module reads. */
export interface ConfigReader {
  get<T>(key: string): T | undefined;
}

/** Setting keys the server understands (camelCase, the same names under `vigor.` in VS Code). */
export const SERVER_KEYS = [
  'baseUrl',
  'model',
  'apiKeyEnv',
  'candidates',
  'runPolicy',
  'commitPolicy',
  'sandbox',
  'timeoutS',
  'maxRetries',
  'backoffS',
  'localModel',
  'confirmTimeoutS',
] as const;

export type ServerSettings = Record<string, unknown>;

/**
 * The server's settings from the `vigor` section: only the keys the server knows, and only those
 * with a value, so that an unset key keeps the server's default (client-only keys such as
 * `server.command` never reach the server).
 */
export function serverSettings(config: ConfigReader): ServerSettings {
  const out: ServerSettings = {};
  for (const key of SERVER_KEYS) {
    const value = config.get<unknown>(key);
    if (value === undefined || value === null || value === '') {
      continue;
    }
    out[key] = value;
  }
  return out;
}

export interface ServerCommand {
  command: string;
  args: string[];
}

/**
 * How to start the server: `vigor.server.command` when set, else `<python> -m vigor_lsp` with the
 * interpreter from `vigor.server.pythonPath`, the Python extension's `python.defaultInterpreterPath`,
 * or the platform's default name.
 */
export function serverCommand(
  vigor: ConfigReader,
  python: ConfigReader | undefined,
  platform: string = process.platform,
): ServerCommand {
  const explicit = (vigor.get<string[]>('server.command') ?? []).filter((part) => part !== '');
  if (explicit.length > 0) {
    return { command: explicit[0], args: explicit.slice(1) };
  }
  const interpreter =
    vigor.get<string>('server.pythonPath') ||
    python?.get<string>('defaultInterpreterPath') ||
    (platform === 'win32' ? 'python' : 'python3');
  return { command: interpreter, args: ['-m', 'vigor_lsp'] };
}
