import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { EdgeRequest } from './edge';

/**
 * SQS's query protocol (the one before JSON, still spoken by the AWS CLI v2 of Debian, older SDKs and many
 * tools): `Action=SendMessage&QueueUrl=…&MessageAttribute.1.Name=…` form-encoded in a POST body (or a GET
 * query), answered in XML. The local SQS translates such a request to its JSON input, runs the same
 * operation, and renders the JSON output back as the query protocol's XML, so both protocols share one
 * implementation.
 */

type Json = Record<string, unknown>;

const XMLNS = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** Query list members (flattened, 1-based) whose JSON names differ. */
const LIST_NAMES: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  TagKey: 'TagKeys',
  SendMessageBatchRequestEntry: 'Entries',
  DeleteMessageBatchRequestEntry: 'Entries',
  ChangeMessageVisibilityBatchRequestEntry: 'Entries',
  AWSAccountId: 'AWSAccountIds',
  ActionName: 'Actions',
};

/** Query maps, sent as `Name.N.<key>` / `Name.N.<value>` pairs, with their JSON member name. */
const MAP_NAMES: Record<string, { json: string; key: string; value: string }> = {
  Attribute: { json: 'Attributes', key: 'Name', value: 'Value' },
  MessageAttribute: { json: 'MessageAttributes', key: 'Name', value: 'Value' },
  MessageSystemAttribute: { json: 'MessageSystemAttributes', key: 'Name', value: 'Value' },
  Tag: { json: 'Tags', key: 'Key', value: 'Value' },
};

/** True when the request is signed for SQS (credential scope `…/sqs/aws4_request`). */
function isSignedForSqs(request: EdgeRequest): boolean {
  const scope = /^[^/]+\/\d{8}\/[^/]+\/sqs\/aws4_request$/;
  const credential = request.query.get('X-Amz-Credential');
  if (credential !== null) return scope.test(credential);
  const authorization = request.headers.authorization;
  const header = /Credential=([^,\s]+)/.exec(Array.isArray(authorization) ? authorization.join(',') : (authorization ?? ''))?.[1];
  return header !== undefined && scope.test(header);
}

/**
 * The operation and its JSON-protocol input when the request is an SQS query-protocol request (signed for
 * `sqs`, with an `Action`), else undefined. A request sent to a queue URL (`/{account}/{queue}`, as some SDKs
 * do) names its queue by the path when it has no `QueueUrl` parameter.
 */
export function parseQueryRequest(request: EdgeRequest, queueUrlOf: (path: string) => string): { operation: string; input: Json } | undefined {
  if (request.headers['x-amz-target'] !== undefined || !isSignedForSqs(request)) return undefined;
  const contentType = String(request.headers['content-type'] ?? '');
  const params =
    request.method === 'POST' && (contentType === '' || contentType.startsWith('application/x-www-form-urlencoded'))
      ? new URLSearchParams(request.body.toString('utf8'))
      : request.query;
  const operation = params.get('Action');
  if (operation === null) return undefined;
  const flat: Array<[string, string]> = [];
  for (const [name, value] of params) {
    if (name === 'Action' || name === 'Version' || name.startsWith('X-Amz-')) continue;
    flat.push([name, value]);
  }
  const input = toJsonInput(nest(flat));
  if (input['QueueUrl'] === undefined && /^\/\d{12}\/[^/]+$/.test(request.path)) input['QueueUrl'] = queueUrlOf(request.path);
  return { operation, input };
}

/** `A.1.B=x` pairs → `{ A: { '1': { B: 'x' } } }`. */
function nest(pairs: Array<[string, string]>): Json {
  const root: Json = {};
  for (const [name, value] of pairs) {
    const parts = name.split('.');
    let node = root;
    for (const [index, part] of parts.entries()) {
      if (index === parts.length - 1) {
        node[part] = value;
      } else {
        const next = node[part];
        if (typeof next === 'object' && next !== null) node = next as Json;
        else node = node[part] = {};
      }
    }
  }
  return root;
}

/** Members numbered 1..n in order (a query list), or undefined when the object is not one. */
function asList(value: unknown): unknown[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const keys = Object.keys(value);
  if (keys.length === 0 || !keys.every((key) => /^[1-9]\d*$/.test(key))) return undefined;
  return keys
    .map(Number)
    .sort((a, b) => a - b)
    .map((key) => (value as Json)[String(key)]);
}

function toJsonInput(node: Json): Json {
  const result: Json = {};
  for (const [name, value] of Object.entries(node)) {
    const map = MAP_NAMES[name];
    const list = asList(value);
    if (map && list) {
      const entries: Json = {};
      for (const entry of list) {
        if (typeof entry !== 'object' || entry === null) continue;
        const key = (entry as Json)[map.key];
        const item = (entry as Json)[map.value];
        if (typeof key === 'string') entries[key] = typeof item === 'object' && item !== null ? toJsonInput(item as Json) : item;
      }
      // CreateQueue names its tags `tags` in the JSON protocol.
      result[map.json] = entries;
      if (map.json === 'Tags') result['tags'] = entries;
    } else if (list) {
      result[LIST_NAMES[name] ?? name] = list.map((item) => (typeof item === 'object' && item !== null ? toJsonInput(item as Json) : item));
    } else if (typeof value === 'object' && value !== null) {
      result[name] = toJsonInput(value as Json);
    } else {
      result[name] = value;
    }
  }
  return result;
}

// ---- XML answers ----

/** The element name of each member of a JSON list in the query protocol's XML (flattened lists). */
function listItemName(operation: string, name: string): string {
  switch (name) {
    case 'QueueUrls':
    case 'queueUrls':
      return 'QueueUrl';
    case 'Messages':
      return 'Message';
    case 'Successful':
      return `${operation}ResultEntry`;
    case 'Failed':
      return 'BatchResultErrorEntry';
    default:
      return name;
  }
}

const XML_MAPS: Record<string, { element: string; key: string; value: string }> = {
  Attributes: { element: 'Attribute', key: 'Name', value: 'Value' },
  MessageAttributes: { element: 'MessageAttribute', key: 'Name', value: 'Value' },
  Tags: { element: 'Tag', key: 'Key', value: 'Value' },
};

function escapeXml(text: string): string {
  return text.replace(/[<>&'"\r]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;', '\r': '&#13;' })[char]!);
}

function renderValue(operation: string, name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) {
    const element = listItemName(operation, name);
    return value.map((item) => `<${element}>${renderMembers(operation, item)}</${element}>`).join('');
  }
  const map = XML_MAPS[name];
  if (map && typeof value === 'object') {
    return Object.entries(value as Json)
      .map(([key, item]) => `<${map.element}><${map.key}>${escapeXml(key)}</${map.key}><${map.value}>${renderMembers(operation, item)}</${map.value}></${map.element}>`)
      .join('');
  }
  return `<${name}>${renderMembers(operation, value)}</${name}>`;
}

function renderMembers(operation: string, value: unknown): string {
  if (typeof value !== 'object' || value === null) return escapeXml(String(value));
  return Object.entries(value as Json)
    .map(([name, member]) => renderValue(operation, name, member))
    .join('');
}

/** `<{Action}Response><{Action}Result>…</{Action}Result><ResponseMetadata>…</ResponseMetadata></{Action}Response>`. */
export function sendQueryResult(response: ServerResponse, operation: string, output: Json): void {
  const result = renderMembers(operation, output);
  const payload =
    `<?xml version="1.0"?><${operation}Response xmlns="${XMLNS}">` +
    (result === '' ? '' : `<${operation}Result>${result}</${operation}Result>`) +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${operation}Response>`;
  response.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(payload) });
  response.end(payload);
}

/** The query protocol's error document; `code` is the awsQuery code (e.g. AWS.SimpleQueueService.NonExistentQueue). */
export function sendQueryError(response: ServerResponse, status: number, code: string, message: string): void {
  const payload =
    `<?xml version="1.0"?><ErrorResponse xmlns="${XMLNS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
    `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><Detail/></Error>` +
    `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  response.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(payload) });
  response.end(payload);
}
