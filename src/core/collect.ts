import { errors } from './errors.js';
import type { CanonicalResponse, OutputPart, StreamEvent } from './response.js';
import type { StopReason } from './request.js';
import { mergeUsage, type Usage } from './usage.js';

/**
 * Fold a canonical event stream into the response it describes. Used for non-streaming requests
 * served by a streaming-only path, and by the conformance tests (fold(stream) must equal the
 * non-streamed answer).
 */
export async function collectStream(events: AsyncIterable<StreamEvent>): Promise<CanonicalResponse> {
  const folder = new StreamFolder();
  for await (const event of events) folder.add(event);
  return folder.result();
}

export class StreamFolder {
  private id = '';
  private model = '';
  private readonly blocks = new Map<number, OutputPart>();
  private stopReason: StopReason | undefined;
  private stopSequence: string | undefined;
  private usage: Usage = {};

  add(event: StreamEvent): void {
    switch (event.type) {
      case 'start':
        this.id = event.id;
        this.model = event.model;
        return;
      case 'text': {
        const block = this.blocks.get(event.index);
        if (block?.type === 'text') block.text += event.text;
        else this.blocks.set(event.index, { type: 'text', text: event.text });
        return;
      }
      case 'thinking': {
        const block = this.blocks.get(event.index);
        if (block?.type === 'thinking') block.text += event.text;
        else this.blocks.set(event.index, { type: 'thinking', text: event.text });
        return;
      }
      case 'thinking_signature': {
        const block = this.blocks.get(event.index);
        if (block?.type === 'thinking') block.signature = (block.signature ?? '') + event.signature;
        else this.blocks.set(event.index, { type: 'thinking', text: '', signature: event.signature });
        return;
      }
      case 'redacted_thinking':
        this.blocks.set(event.index, { type: 'redacted_thinking', data: event.data });
        return;
      case 'tool_call_start':
        this.blocks.set(event.index, { type: 'tool_call', id: event.id, name: event.name, arguments: '' });
        return;
      case 'tool_call_delta': {
        const block = this.blocks.get(event.index);
        if (block?.type === 'tool_call') block.arguments += event.argumentsDelta;
        return;
      }
      case 'block_stop':
        return;
      case 'finish':
        this.stopReason = event.stopReason;
        this.stopSequence = event.stopSequence;
        return;
      case 'usage':
        this.usage = mergeUsage(this.usage, event.usage);
        return;
      case 'error':
        throw event.error;
    }
  }

  /** True once the upstream said how the answer ended. */
  get finished(): boolean {
    return this.stopReason !== undefined;
  }

  get usageSoFar(): Usage {
    return this.usage;
  }

  result(): CanonicalResponse {
    if (this.stopReason === undefined) {
      throw errors.truncatedStream('Upstream stream ended before the answer was complete');
    }
    const content = [...this.blocks.entries()].sort((a, b) => a[0] - b[0]).map(([, part]) => part);
    for (const part of content) if (part.type === 'tool_call' && part.arguments === '') part.arguments = '{}';
    return {
      id: this.id,
      model: this.model,
      content,
      stopReason: this.stopReason,
      stopSequence: this.stopSequence,
      usage: this.usage,
    };
  }
}

/** The events a streamed answer would have produced; lets a non-streaming provider serve a stream. */
export function* responseToEvents(response: CanonicalResponse): Generator<StreamEvent> {
  yield { type: 'start', id: response.id, model: response.model };
  for (const [index, part] of response.content.entries()) {
    switch (part.type) {
      case 'text':
        yield { type: 'text', index, text: part.text };
        break;
      case 'thinking':
        yield { type: 'thinking', index, text: part.text };
        if (part.signature !== undefined) yield { type: 'thinking_signature', index, signature: part.signature };
        break;
      case 'redacted_thinking':
        yield { type: 'redacted_thinking', index, data: part.data };
        break;
      case 'tool_call':
        yield { type: 'tool_call_start', index, id: part.id, name: part.name };
        yield { type: 'tool_call_delta', index, argumentsDelta: part.arguments };
        break;
    }
    yield { type: 'block_stop', index };
  }
  yield { type: 'finish', stopReason: response.stopReason, stopSequence: response.stopSequence };
  yield { type: 'usage', usage: response.usage };
}
