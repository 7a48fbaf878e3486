// The VIGOR extension: starts `vigor-lsp` with vscode-languageclient and wires the UI commands, the
// status bar and the undo merging to it. The server does the work (STYLE: the editor client stays thin).
import * as vscode from 'vscode';
import {
  ApplyWorkspaceEditRequest,
  DidChangeConfigurationNotification,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { END_NOTIFICATION, STEP_NOTIFICATION, type EndParams, type StepParams } from './protocol';
import { Commands } from './session';
import { serverCommand, serverSettings, type ServerSettings } from './settings';
import { StatusBar } from './status';
import { UndoMerger } from './undo';

let client: LanguageClient | undefined;
let startedWith: ServerSettings = {}; // the settings the running server got as initializationOptions

function vigorConfig(scope?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('vigor', scope);
}

/** The server process and the client options, from the current settings. */
export function clientSetup(): { serverOptions: ServerOptions; clientOptions: LanguageClientOptions } {
  const { command, args } = serverCommand(vigorConfig(), vscode.workspace.getConfiguration('python'));
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    // files only: the server writes each session's trace beside the workspace or the file
    documentSelector: [{ scheme: 'file', language: 'python' }],
    initializationOptions: { vigor: serverSettings(vigorConfig()) },
    outputChannelName: 'VIGOR',
    middleware: {
      workspace: {
        // answer the server's `vigor` section with the mapped settings, not the raw section
        configuration: async (params, token, next) => {
          const raw = await next(params, token);
          if (!Array.isArray(raw)) {
            return raw;
          }
          return params.items.map((item, i) =>
            item.section === 'vigor'
              ? serverSettings(vigorConfig(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined))
              : raw[i],
          );
        },
      },
    },
  };
  return { serverOptions, clientOptions };
}

async function startClient(commands: Commands): Promise<LanguageClient> {
  const { serverOptions, clientOptions } = clientSetup();
  startedWith = (clientOptions.initializationOptions as { vigor: ServerSettings }).vigor;
  const started = new LanguageClient('vigor', 'VIGOR', serverOptions, clientOptions);
  const undo = new UndoMerger(started.protocol2CodeConverter, () => vigorConfig().get<boolean>('undo.mergeSession', true));
  started.onNotification(STEP_NOTIFICATION, (params: StepParams) => commands.onStep(params));
  started.onNotification(END_NOTIFICATION, (params: EndParams) => {
    commands.onEnd(params);
    // a failed closing undo stop only means the user's next edit may join the session's undo step
    undo.close(params.uri).catch(() => undefined);
  });
  await started.start();
  // the client installs its own applyEdit handler in start(); handlers registered through onRequest are
  // (re)installed after it on every (re)start, so the undo-merging one wins
  started.onRequest(ApplyWorkspaceEditRequest.type, (params) => undo.apply(params));
  return started;
}

let restartInProgress = false;
let restartQueued = false;

/**
 * (Re)start the server, one restart at a time: a restart asked for while one runs is queued and
 * done once after it (ruff-vscode's pattern), so two quick settings changes never leave two servers.
 */
async function restart(commands: Commands): Promise<void> {
  if (restartInProgress) {
    restartQueued = true;
    return;
  }
  restartInProgress = true;
  try {
    do {
      restartQueued = false;
      await restartOnce(commands);
    } while (restartQueued);
  } finally {
    restartInProgress = false;
  }
}

/** Stop the running client and start a new one; a failure is shown, with what to check, instead of thrown. */
async function restartOnce(commands: Commands): Promise<void> {
  const old = client;
  client = undefined;
  try {
    await old?.stop();
  } catch {
    // a client that never started has nothing to stop
  }
  try {
    client = await startClient(commands);
  } catch (error) {
    const { command, args } = serverCommand(vigorConfig(), vscode.workspace.getConfiguration('python'));
    void vscode.window.showErrorMessage(
      `VIGOR: could not start the language server (${[command, ...args].join(' ')}): ${String(error)}. ` +
        'Install VIGOR in that interpreter (pip install -e .) or set vigor.server.pythonPath / vigor.server.command.',
    );
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const status = new StatusBar();
  const commands = new Commands(() => client, status);
  context.subscriptions.push(
    status,
    vscode.commands.registerCommand('vigor.ui.generate', () => commands.generate()),
    vscode.commands.registerCommand('vigor.ui.generateWithInstruction', () => commands.generateWithInstruction()),
    vscode.commands.registerCommand('vigor.ui.cancel', (sessionId?: unknown) => commands.cancel(sessionId)),
    vscode.commands.registerCommand('vigor.ui.openTrace', (sessionId?: unknown) => commands.openTrace(sessionId)),
    vscode.commands.registerCommand('vigor.ui.restartServer', () => restart(commands)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('vigor')) {
        return;
      }
      const settings = serverSettings(vigorConfig());
      // the server keeps an initializationOptions value a later push leaves out: a setting removed
      // since the start takes a restart, like a new server command line
      const removed = Object.keys(startedWith).some((key) => !(key in settings));
      if (event.affectsConfiguration('vigor.server') || removed) {
        void restart(commands);
      } else if (client) {
        void client.sendNotification(DidChangeConfigurationNotification.type, { settings: { vigor: settings } });
      }
    }),
  );
  await restart(commands);
}

export async function deactivate(): Promise<void> {
  const old = client;
  client = undefined;
  await old?.stop();
}
