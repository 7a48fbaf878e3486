// A stand-in for the `vscode` module (which only exists inside VS Code), with just the surface the
// extension uses, recording what the extension does. Importing this module installs it: afterwards
// `require('vscode')` anywhere returns it. `mockModule` replaces other modules the same way.
import Module from 'node:module';

type Resolve = (request: string, ...rest: unknown[]) => string;
const moduleApi = Module as unknown as { _resolveFilename: Resolve };
const mocked = new Map<string, string>([['vscode', __filename]]);
const originalResolve = moduleApi._resolveFilename;
moduleApi._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return mocked.get(request) ?? originalResolve.call(this, request, ...rest);
};

/** Make `require(name)` return `exports` (for modules other than vscode, e.g. the language client). */
export function mockModule(name: string, exports: object): void {
  const filename = `/mock/${name}.js`;
  const m = new Module(filename);
  m.filename = filename;
  m.exports = exports;
  m.loaded = true;
  require.cache[filename] = m;
  mocked.set(name, filename);
}

export class Uri {
  private constructor(private readonly value: string) {}
  static parse(value: string): Uri {
    return new Uri(value);
  }
  static file(path: string): Uri {
    return new Uri(`file://${path}`);
  }
  toString(): string {
    return this.value;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

export const StatusBarAlignment = { Left: 1, Right: 2 } as const;

export class StatusBarItem {
  name = '';
  text = '';
  tooltip: unknown = '';
  command: unknown = undefined;
  shown = false;
  disposed = false;
  show(): void {
    this.shown = true;
  }
  hide(): void {
    this.shown = false;
  }
  dispose(): void {
    this.disposed = true;
  }
}

export interface FakeDocument {
  uri: Uri;
  version: number;
}

export interface EditCall {
  replacements: { range: unknown; text: string }[];
  options: unknown;
}

/** A text editor whose `edit` records the replacements and undo options, and bumps the version. */
export class TextEditor {
  readonly edits: EditCall[] = [];
  refuse = false;
  selection: { active: Position };
  constructor(
    readonly document: FakeDocument,
    cursor = new Position(0, 0),
  ) {
    this.selection = { active: cursor };
  }
  async edit(build: (b: { replace(range: unknown, text: string): void }) => void, options?: unknown): Promise<boolean> {
    const call: EditCall = { replacements: [], options };
    build({ replace: (range, text) => call.replacements.push({ range, text }) });
    this.edits.push(call);
    if (this.refuse) {
      return false;
    }
    if (call.replacements.length > 0) {
      this.document.version += 1;
    }
    return true;
  }
}

export type Message = [kind: 'info' | 'warning' | 'error', text: string, items: string[]];

export const window = {
  activeTextEditor: undefined as TextEditor | undefined,
  visibleTextEditors: [] as TextEditor[],
  items: [] as StatusBarItem[],
  messages: [] as Message[],
  choice: undefined as string | undefined, // what the user picks in the next message
  input: undefined as string | undefined, // what the user types in the next input box
  createStatusBarItem(): StatusBarItem {
    const item = new StatusBarItem();
    window.items.push(item);
    return item;
  },
  showInformationMessage(text: string, ...items: string[]): Promise<string | undefined> {
    window.messages.push(['info', text, items]);
    return Promise.resolve(window.choice);
  },
  showWarningMessage(text: string, ...items: string[]): Promise<string | undefined> {
    window.messages.push(['warning', text, items]);
    return Promise.resolve(window.choice);
  },
  showErrorMessage(text: string, ...items: string[]): Promise<string | undefined> {
    window.messages.push(['error', text, items]);
    return Promise.resolve(window.choice);
  },
  showInputBox(): Promise<string | undefined> {
    return Promise.resolve(window.input);
  },
};

const disposable = { dispose: (): void => undefined };

export const workspace = {
  settings: {} as Record<string, unknown>, // full keys, e.g. "vigor.baseUrl"
  textDocuments: [] as FakeDocument[],
  applied: [] as unknown[],
  configurationListeners: [] as ((e: { affectsConfiguration(section: string): boolean }) => unknown)[],
  getConfiguration(section: string) {
    return {
      get<T>(key: string, fallback?: T): T | undefined {
        const full = `${section}.${key}`;
        return full in workspace.settings ? (workspace.settings[full] as T) : fallback;
      },
    };
  },
  async applyEdit(edit: unknown): Promise<boolean> {
    workspace.applied.push(edit);
    return true;
  },
  onDidChangeConfiguration(listener: (e: { affectsConfiguration(section: string): boolean }) => unknown) {
    workspace.configurationListeners.push(listener);
    return disposable;
  },
};

export const commands = {
  registered: new Map<string, (...args: unknown[]) => unknown>(),
  registerCommand(id: string, handler: (...args: unknown[]) => unknown) {
    commands.registered.set(id, handler);
    return disposable;
  },
};

/** Forget everything recorded (between tests). */
export function reset(): void {
  window.activeTextEditor = undefined;
  window.visibleTextEditors = [];
  window.items = [];
  window.messages = [];
  window.choice = undefined;
  window.input = undefined;
  workspace.settings = {};
  workspace.textDocuments = [];
  workspace.applied = [];
  workspace.configurationListeners = [];
  commands.registered.clear();
}
