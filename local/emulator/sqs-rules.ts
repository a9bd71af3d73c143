/**
 * SQS's rule for the characters of a message body, applied to the local
 * queue (fauxqs). SQS accepts #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD |
 * #x10000–#x10FFFF and refuses a message holding anything else with
 * `InvalidMessageContents`
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 *
 * fauxqs 2.4.1 checks that set with a RegExp without the `u` flag
 * (`INVALID_MESSAGE_BODY_CHAR` in its dist/sqs/sqsTypes.js), so it reads a
 * string UTF-16 unit by unit: both halves of a surrogate pair fall outside
 * its ranges and every emoji is refused, although SQS accepts them. Its size
 * rule is right (UTF-8 bytes of the body and attributes against the queue's
 * `MaximumMessageSize`, 1 MiB by default as in SQS), and so are its error
 * shapes, so only the character check is replaced: `test` on that one RegExp
 * object — the one SendMessage, SendMessageBatch and its own `sendMessage`
 * all use — is made to read code points. This was chosen over the
 * alternatives: a patch-package patch needs a postinstall script for a
 * one-line difference, and answering SendMessage ourselves would still need
 * fauxqs to store the message, through the same check. fauxqs's package
 * `exports` hide the module from a bare import, so it is loaded by its file
 * URL, which Node resolves to the very module instance fauxqs uses.
 */

/** A character SQS refuses in a message body, read per code point (the `u` flag): a lone surrogate is one. */
const SQS_REFUSED_CHARACTER = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Make fauxqs refuse exactly the characters SQS refuses. */
export async function applySqsCharacterRule(): Promise<void> {
  const module = new URL('./sqs/sqsTypes.js', import.meta.resolve('fauxqs'));
  const types: Record<string, unknown> = await import(module.href);
  const check = types['INVALID_MESSAGE_BODY_CHAR'];
  // A fauxqs upgrade that moves or renames the check must fail here, not quietly keep refusing emoji.
  if (!(check instanceof RegExp)) {
    throw new Error(`fauxqs no longer has INVALID_MESSAGE_BODY_CHAR in ${module.pathname}: recheck its character rule`);
  }
  const test = (text: string) => SQS_REFUSED_CHARACTER.test(text);
  Object.defineProperty(check, 'test', { value: test, configurable: true });
}

/**
 * The error codes SQS's JSON protocol names with the `AWS.SimpleQueueService.`
 * prefix in its `x-amzn-query-error` header (the `awsQueryError` codes of the
 * SQS service model, as the SDK's error classes carry them). Every other code
 * goes bare: `InvalidMessageContents`, and the size error, `InvalidParameterValue`
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html).
 */
const PREFIXED_QUERY_ERRORS = new Set([
  'BatchEntryIdsNotDistinct',
  'BatchRequestTooLong',
  'EmptyBatchRequest',
  'InvalidBatchEntryId',
  'MessageNotInflight',
  'NonExistentQueue',
  'PurgeQueueInProgress',
  'QueueDeletedRecently',
  'TooManyEntriesInBatchRequest',
  'UnsupportedOperation',
]);

/**
 * SQS's `x-amzn-query-error` for fauxqs's: fauxqs prefixes every code, and the
 * SDK names its errors by this header, so without this the local queue's
 * refusal of a character would be `AWS.SimpleQueueService.InvalidMessageContents`
 * where SQS's is `InvalidMessageContents`.
 */
export function sqsQueryErrorHeader(value: string): string {
  const match = /^AWS\.SimpleQueueService\.([^;]+)(;.*)?$/.exec(value);
  const code = match?.[1];
  if (code === undefined || PREFIXED_QUERY_ERRORS.has(code)) return value;
  return `${code}${match?.[2] ?? ''}`;
}
