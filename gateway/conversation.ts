// The session's conversation as the gateway holds it: items in order (insert after any item or at
// the root), lookup by id, fractional positions for persistence, and the text context an LLM job
// carries (oldest items dropped first when it is too long, like `truncation: auto`).
import type { ContextItem, ConversationItem, PersistedItem } from '../schemas/index.ts';

export interface ItemMeta {
  /** Ordering key persisted with the item. */
  position: number;
  version: number;
  /** Committed user audio lives in the utterance stream: where to find it. */
  utteranceChunks?: number;
  /** Assistant audio sent so far (ms) and the transcript at each sentence end, for truncation. */
  audioMs?: number;
  sentenceMarks?: Array<{ audioEndMs: number; textEnd: number }>;
  transcriptPending?: boolean;
}

const POSITION_STEP = 1024;

export class Conversation {
  private readonly order: string[] = [];
  private readonly items = new Map<string, { item: ConversationItem; meta: ItemMeta }>();

  /** Called with the ids whose persisted position changed when a gap ran out and we renumbered. */
  constructor(private readonly onRenumber: (ids: string[]) => void = () => undefined) {}

  get size(): number {
    return this.order.length;
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  get(id: string): { item: ConversationItem; meta: ItemMeta } | undefined {
    return this.items.get(id);
  }

  lastId(): string | null {
    return this.order[this.order.length - 1] ?? null;
  }

  previousOf(id: string): string | null {
    const i = this.order.indexOf(id);
    return i > 0 ? this.order[i - 1]! : null;
  }

  /**
   * Insert after `previousId`: undefined or null appends (OpenAI: "not set" appends), 'root'
   * inserts first. Returns the id of the item it now follows (null at the root).
   */
  insert(item: ConversationItem, previousId: string | null | undefined, meta: Partial<ItemMeta> = {}): string | null {
    let index: number;
    if (previousId === undefined || previousId === null) index = this.order.length;
    else if (previousId === 'root') index = 0;
    else {
      index = this.order.indexOf(previousId) + 1;
      if (index === 0) throw new Error(`previous item ${previousId} is not in the conversation`);
    }
    this.order.splice(index, 0, item.id);
    this.items.set(item.id, { item, meta: { version: 1, ...meta, position: 0 } });
    this.place(index);
    return index > 0 ? this.order[index - 1]! : null;
  }

  /** Give the item at `index` a position between its neighbours, renumbering when the gap is gone. */
  private place(index: number): void {
    const pos = (i: number) => this.items.get(this.order[i]!)!.meta.position;
    const before = index > 0 ? pos(index - 1) : 0;
    const after = index + 1 < this.order.length ? pos(index + 1) : before + 2 * POSITION_STEP;
    const mid = (before + after) / 2;
    if (mid > before && mid < after) {
      this.items.get(this.order[index]!)!.meta.position = mid;
      return;
    }
    // Floating point ran out of room in this gap (~50 inserts into the same spot): renumber all.
    const moved: string[] = [];
    this.order.forEach((id, i) => {
      const meta = this.items.get(id)!.meta;
      const next = (i + 1) * POSITION_STEP;
      if (meta.position !== next && i !== index) moved.push(id);
      meta.position = next;
    });
    this.onRenumber(moved);
  }

  /** Put back an item read from the conversation log (resume): position and version as stored. */
  restore(item: ConversationItem, position: number, version: number): void {
    this.order.push(item.id);
    this.items.set(item.id, { item, meta: { position, version } });
  }

  delete(id: string): boolean {
    const i = this.order.indexOf(id);
    if (i < 0) return false;
    this.order.splice(i, 1);
    this.items.delete(id);
    return true;
  }

  /** Items before `untilId` (exclusive) or all, in order. */
  list(): ConversationItem[] {
    return this.order.map((id) => this.items.get(id)!.item);
  }

  /** Ids of user items still waiting for their transcript. */
  pendingTranscripts(): string[] {
    return this.order.filter((id) => this.items.get(id)!.meta.transcriptPending);
  }

  /** Text context for the LLM, newest kept first within `maxChars`. */
  context(maxChars: number, items: readonly ConversationItem[] = this.list()): ContextItem[] {
    const out: ContextItem[] = [];
    let chars = 0;
    for (let i = items.length - 1; i >= 0; i--) {
      const c = toContextItem(items[i]!);
      if (!c) continue;
      const size = c.type === 'message' ? c.text.length : c.type === 'function_call' ? c.arguments.length : c.output.length;
      if (chars + size > maxChars && out.length > 0) break;
      chars += size;
      out.unshift(c);
    }
    return out;
  }
}

export function messageText(item: ConversationItem): string {
  if (item.type !== 'message') return '';
  return item.content
    .map((p) => {
      switch (p.type) {
        case 'input_text':
        case 'output_text':
          return p.text;
        case 'input_audio':
          return p.transcript ?? '';
        case 'output_audio':
          return p.transcript;
        case 'input_image':
          return '';
        default: {
          const never: never = p;
          return never;
        }
      }
    })
    .filter(Boolean)
    .join(' ');
}

export function toContextItem(item: ConversationItem): ContextItem | null {
  switch (item.type) {
    case 'message': {
      const text = messageText(item);
      return { type: 'message', role: item.role, text };
    }
    case 'function_call':
      return { type: 'function_call', callId: item.call_id, name: item.name, arguments: item.arguments };
    case 'function_call_output':
      return { type: 'function_call_output', callId: item.call_id, output: item.output };
    default: {
      const never: never = item;
      return never;
    }
  }
}

/** The persisted form of an item (no audio bytes). */
export function toPersisted(item: ConversationItem): PersistedItem {
  const base = { id: item.id, type: item.type, status: item.status, callId: null, name: null, arguments: null, output: null } as const;
  switch (item.type) {
    case 'message': {
      const content = item.content.map((p) => ('audio' in p ? { ...p, audio: undefined } : p));
      const transcript = item.content.some((p) => p.type === 'input_audio' || p.type === 'output_audio') ? messageText(item) : null;
      return { ...base, role: item.role, content, transcript };
    }
    case 'function_call':
      return { ...base, role: null, content: [], transcript: null, callId: item.call_id, name: item.name, arguments: item.arguments };
    case 'function_call_output':
      return { ...base, role: null, content: [], transcript: null, callId: item.call_id, output: item.output };
    default: {
      const never: never = item;
      return never;
    }
  }
}
