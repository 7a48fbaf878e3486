// The status-bar item: the live step count of running sessions with a stop action, then the
// outcome of the last one with an "open trace" action. The state machine is plain data (StatusModel);
// StatusBar only copies its view onto a vscode.StatusBarItem.
import * as vscode from 'vscode';
import { outcomeText, type EndParams, type StepParams } from './protocol';

export interface StatusView {
  visible: boolean;
  text: string;
  tooltip: string;
  command?: { title: string; command: string; arguments: unknown[] };
}

interface Live {
  sessionId: string;
  steps: number;
  lines: number;
  last: string;
}

const OUTCOME_ICON: Record<string, string> = {
  completed: '$(check)',
  cancelled: '$(circle-slash)',
};

/** Sessions seen through generate, vigor/step and vigor/end, rendered as one status view. */
export class StatusModel {
  private readonly live = new Map<string, Live>();
  private readonly ended = new Set<string>();
  private last?: EndParams;

  /** A session was started (its vigor/end may already have arrived: then it stays ended). */
  start(sessionId: string): void {
    if (!this.ended.has(sessionId) && !this.live.has(sessionId)) {
      this.live.set(sessionId, { sessionId, steps: 0, lines: 0, last: '' });
    }
  }

  step(params: StepParams): void {
    if (this.ended.has(params.sessionId)) {
      return;
    }
    this.start(params.sessionId);
    const live = this.live.get(params.sessionId)!;
    live.steps = params.step + 1;
    if (params.line !== null && params.line !== undefined) {
      live.lines += 1;
    }
    live.last = params.committed !== null && params.committed !== undefined ? `committed ${JSON.stringify(params.committed)}` : 'end';
  }

  end(params: EndParams): void {
    this.ended.add(params.sessionId);
    this.live.delete(params.sessionId);
    this.last = params;
  }

  /** The latest live session (the stop action's target), if any. */
  get running(): string | undefined {
    return [...this.live.keys()].pop();
  }

  view(): StatusView {
    const lives = [...this.live.values()];
    if (lives.length > 0) {
      const current = lives[lives.length - 1];
      const others = lives.length > 1 ? ` (+${lives.length - 1})` : '';
      const lines = current.lines === 1 ? '1 line' : `${current.lines} lines`;
      return {
        visible: true,
        text: `$(sync~spin) VIGOR step ${current.steps} · ${lines}${others}`,
        tooltip: `VIGOR is generating${current.last ? ` (last step: ${current.last})` : ''}. Click to stop.`,
        command: { title: 'Stop', command: 'vigor.ui.cancel', arguments: [current.sessionId] },
      };
    }
    if (this.last !== undefined) {
      const { outcome, lines, detail, sessionId } = this.last;
      const icon = OUTCOME_ICON[outcome] ?? '$(warning)';
      return {
        visible: true,
        text: `${icon} VIGOR ${outcomeText(this.last)} · ${lines === 1 ? '1 line' : `${lines} lines`}`,
        tooltip: `${detail ? `${detail}\n` : ''}Click to open the trace.`,
        command: { title: 'Open Trace', command: 'vigor.ui.openTrace', arguments: [sessionId] },
      };
    }
    return { visible: false, text: '', tooltip: '' };
  }
}

/** The vscode.StatusBarItem that shows a StatusModel. */
export class StatusBar implements vscode.Disposable {
  readonly model = new StatusModel();
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'VIGOR';
  }

  start(sessionId: string): void {
    this.model.start(sessionId);
    this.render();
  }

  step(params: StepParams): void {
    this.model.step(params);
    this.render();
  }

  end(params: EndParams): void {
    this.model.end(params);
    this.render();
  }

  render(): void {
    const view = this.model.view();
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.command;
    if (view.visible) {
      this.item.show();
    } else {
      this.item.hide();
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
