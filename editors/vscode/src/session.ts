// The UI commands (generate, cancel, open trace) and the sessions they started, per document.
// The server does the work; these handlers only build the arguments of its commands
// (`workspace/executeCommand`) from the active editor and report what comes back.
import * as vscode from 'vscode';
import {
  CANCEL,
  GENERATE,
  OPEN_TRACE,
  outcomeText,
  type EndParams,
  type GenerateArgs,
  type GenerateResult,
  type StepParams,
} from './protocol';

/** The part of the language client the handlers use. */
export interface ServerClient {
  sendRequest<R>(method: string, params: unknown): Promise<R>;
  readonly code2ProtocolConverter: { asUri(uri: vscode.Uri): string };
}

/** Where sessions show up: the status bar and the undo merger. */
export interface SessionListener {
  start(sessionId: string): void;
  step(params: StepParams): void;
  end(params: EndParams): void;
}

/** Sessions by document (protocol uris, as the server names them): the live one and the latest. */
export class Sessions {
  private readonly live = new Map<string, string>(); // uri -> live session
  private readonly latestIn = new Map<string, string>(); // uri -> latest session, live or ended
  private readonly ended = new Set<string>();
  latest?: string;

  started(sessionId: string, uri: string): void {
    this.latest = sessionId;
    this.latestIn.set(uri, sessionId);
    if (!this.ended.has(sessionId)) {
      this.live.set(uri, sessionId);
    }
  }

  finished(sessionId: string, uri: string): void {
    this.ended.add(sessionId);
    if (this.live.get(uri) === sessionId) {
      this.live.delete(uri);
    }
  }

  liveIn(uri: string | undefined): string | undefined {
    return uri === undefined ? undefined : this.live.get(uri);
  }

  latestFor(uri: string | undefined): string | undefined {
    return uri === undefined ? undefined : this.latestIn.get(uri);
  }

  /** The most recently started session that is still running, in any document. */
  latestLive(): string | undefined {
    return [...this.live.values()].pop();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const QUIET_OUTCOMES = new Set(['completed', 'cancelled']);

/** The handlers behind `vigor.ui.*` and the `vigor/step`, `vigor/end` notifications. */
export class Commands {
  readonly sessions = new Sessions();

  constructor(
    private readonly client: () => ServerClient | undefined,
    private readonly listener: SessionListener,
    private readonly onEnded: (params: EndParams) => unknown = () => undefined,
  ) {}

  /** VIGOR: Generate at Cursor — one session below the cursor, with an optional instruction. */
  async generate(instruction?: string): Promise<GenerateResult | undefined> {
    const editor = vscode.window.activeTextEditor;
    const client = this.client();
    if (!editor) {
      void vscode.window.showInformationMessage('VIGOR: put the cursor in a Python file where the code should go.');
      return undefined;
    }
    if (!client) {
      this.notRunning();
      return undefined;
    }
    const uri = client.code2ProtocolConverter.asUri(editor.document.uri);
    const { line, character } = editor.selection.active;
    const args: GenerateArgs = {
      textDocument: { uri, version: editor.document.version },
      position: { line, character },
    };
    if (instruction) {
      args.instruction = instruction;
    }
    const result = await this.execute<GenerateResult>(client, GENERATE, args);
    if (result) {
      this.sessions.started(result.sessionId, uri);
      this.listener.start(result.sessionId);
    }
    return result;
  }

  /** VIGOR: Generate at Cursor with Instruction... — asks for the instruction first. */
  async generateWithInstruction(): Promise<GenerateResult | undefined> {
    const instruction = await vscode.window.showInputBox({
      title: 'VIGOR',
      prompt: 'What should the code at the cursor do? (empty: the comment or docstring above the cursor)',
    });
    return instruction === undefined ? undefined : this.generate(instruction.trim() || undefined);
  }

  /** VIGOR: Cancel — the given session, else the one in the active document, else the latest. */
  async cancel(sessionId?: unknown): Promise<boolean> {
    const client = this.client();
    if (!client) {
      this.notRunning();
      return false;
    }
    const target =
      (typeof sessionId === 'string' ? sessionId : undefined) ??
      this.sessions.liveIn(this.activeUri(client)) ??
      this.sessions.latestLive();
    const result = await this.execute<{ cancelled: boolean }>(client, CANCEL, target ? { sessionId: target } : {});
    if (result && !result.cancelled) {
      void vscode.window.showInformationMessage('VIGOR: no session is running.');
    }
    return !!result?.cancelled;
  }

  /** VIGOR: Open Trace — of the given session, else the active document's latest, else the latest. */
  async openTrace(sessionId?: unknown): Promise<string | undefined> {
    const client = this.client();
    if (!client) {
      this.notRunning();
      return undefined;
    }
    const target =
      (typeof sessionId === 'string' ? sessionId : undefined) ??
      this.sessions.latestFor(this.activeUri(client)) ??
      this.sessions.latest;
    // the server writes the page and asks to show it (window/showDocument, handled by the client)
    return this.execute<string>(client, OPEN_TRACE, target ? { sessionId: target } : {});
  }

  onStep(params: StepParams): void {
    this.listener.step(params);
  }

  onEnd(params: EndParams): void {
    this.sessions.finished(params.sessionId, params.uri);
    this.listener.end(params);
    void this.onEnded(params);
    if (!QUIET_OUTCOMES.has(params.outcome)) {
      const message = `VIGOR ${outcomeText(params)} after ${params.lines} line(s)${params.detail ? `: ${params.detail}` : ''}`;
      void Promise.resolve(vscode.window.showWarningMessage(message, 'Open Trace')).then((choice) =>
        choice === 'Open Trace' ? this.openTrace(params.sessionId) : undefined,
      );
    }
  }

  private activeUri(client: ServerClient): string | undefined {
    const editor = vscode.window.activeTextEditor;
    return editor ? client.code2ProtocolConverter.asUri(editor.document.uri) : undefined;
  }

  private async execute<R>(client: ServerClient, command: string, arg: object): Promise<R | undefined> {
    try {
      return await client.sendRequest<R>('workspace/executeCommand', { command, arguments: [arg] });
    } catch (error) {
      void vscode.window.showErrorMessage(`VIGOR: ${messageOf(error)}`);
      return undefined;
    }
  }

  private notRunning(): void {
    void vscode.window.showErrorMessage('VIGOR: the language server is not running (see the VIGOR output channel).');
  }
}
