// A stand-in for `vscode-languageclient/node` (the real one needs VS Code): records how the extension
// builds, starts and talks to its client. Import after ./vscode and before the extension.
import { mockModule, Uri } from './vscode';

type Handler = (...args: never[]) => unknown;
const methodOf = (type: string | { method: string }): string => (typeof type === 'string' ? type : type.method);

export class LanguageClient {
  static instances: LanguageClient[] = [];
  readonly notifications = new Map<string, Handler>();
  readonly requests = new Map<string, Handler>();
  readonly sent: [string, unknown][] = [];
  readonly notified: [string, unknown][] = [];
  answers: Record<string, unknown> = {};
  state: 'new' | 'running' | 'stopped' = 'new';
  readonly code2ProtocolConverter = { asUri: (uri: { toString(): string }) => uri.toString() };
  readonly protocol2CodeConverter = { asUri: (value: string) => Uri.parse(value) };

  constructor(
    readonly id: string,
    readonly name: string,
    readonly serverOptions: { command: string; args: string[] },
    readonly clientOptions: Record<string, unknown> & { initializationOptions?: unknown },
  ) {
    LanguageClient.instances.push(this);
  }
  onNotification(type: string | { method: string }, handler: Handler) {
    this.notifications.set(methodOf(type), handler);
    return { dispose: () => undefined };
  }
  onRequest(type: string | { method: string }, handler: Handler) {
    // the real client installs its own applyEdit handler in start(); one set before would be replaced
    this.requests.set(`${methodOf(type)}${this.state === 'running' ? '' : ' (before start)'}`, handler);
    return { dispose: () => undefined };
  }
  static failStart = false;
  async start(): Promise<void> {
    if (LanguageClient.failStart) {
      throw new Error('the server exited with code 1');
    }
    this.state = 'running';
  }
  async stop(): Promise<void> {
    this.state = 'stopped';
  }
  async sendRequest(method: string, params: { command?: string }): Promise<unknown> {
    this.sent.push([method, params]);
    return this.answers[params.command ?? method];
  }
  async sendNotification(type: string | { method: string }, params: unknown): Promise<void> {
    this.notified.push([methodOf(type), params]);
  }
}

mockModule('vscode-languageclient/node', {
  LanguageClient,
  TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 },
  ApplyWorkspaceEditRequest: { type: { method: 'workspace/applyEdit' } },
  DidChangeConfigurationNotification: { type: { method: 'workspace/didChangeConfiguration' } },
});
