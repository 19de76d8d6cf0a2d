/** An answer a route chooses to give: the status and the JSON body, sent as they are (no stack, no log). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.error ?? status));
  }
}
