/**
 * Web Streams over dipc's message receives, one way for every kind that has them (the ring's
 * receiver, every `Channel`): a pull takes one message, the end of the stream closes it, and
 * cancelling closes the source.
 *
 * @module
 */

import { END_OF_STREAM, type EndOfStream } from "./_sentinels.ts";

/** A `ReadableStream` of what `receive` returns, closed at end of stream; `cancel` on cancel. */
export function messageReadable<T>(
  receive: () => Promise<T | EndOfStream>,
  cancel: () => void,
): ReadableStream<T> {
  return new ReadableStream<T>({
    pull: async (controller) => {
      const m = await receive();
      if (m === END_OF_STREAM) controller.close();
      else controller.enqueue(m);
    },
    cancel,
  }, { highWaterMark: 0 });
}
