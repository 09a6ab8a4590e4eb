// What every fastify app of Guardgate does against hostile input: JSON nested deeper than a bound is
// refused before it is parsed (a deep document costs stack and time in every walker after the parser),
// `__proto__` and `constructor.prototype` keys are refused, parser refusals and malformed URLs answer in
// the same JSON error shape as every route.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
import { GuardgateError, type ErrorCode } from '../vocabulary/errors.js';
import { answerClientError } from './client-error.js';

/** JSON nested deeper than this is refused before it is parsed. */
export const MAX_JSON_DEPTH = 64;

/** A body that is valid JSON but has a `__proto__` or `constructor.prototype` key. */
const PROTOTYPE_KEY_CODE = 'GUARDGATE_PROTOTYPE_KEY';

/** Fastify's own error codes (and the parser's), mapped onto the API's stable ones (see vocabulary/errors.ts). */
const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  [PROTOTYPE_KEY_CODE]: 'invalid_request',
};

/** The stable code for an error fastify raised itself, if it is one of those. */
export function fastifyErrorCode(error: { code?: string; statusCode?: number }): ErrorCode | undefined {
  return FASTIFY_ERRORS[error.code ?? ''];
}

/** Is the JSON text nested deeper than `limit`? Linear, one pass, strings skipped. */
export function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > limit) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) {
      depth--;
    }
  }
  return false;
}

class JsonBodyError extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_CTP_INVALID_JSON_BODY';
}

class PrototypeKeyError extends Error {
  readonly statusCode = 400;
  readonly code = PROTOTYPE_KEY_CODE;
}

/** Whether the text is JSON at all (plain JSON.parse keeps `__proto__` as an own key: harmless here, the value is dropped). */
const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Options for `Fastify({...})`: JSON answers for requests Node's parser refuses, and for malformed URLs. */
export const HARDENED_OPTIONS: Pick<FastifyServerOptions, 'clientErrorHandler' | 'frameworkErrors'> = {
  clientErrorHandler: answerClientError,
  frameworkErrors: (error: FastifyError, _request, reply: FastifyReply) => {
    const bad = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_ASYNC_CONSTRAINT';
    void reply
      .code(400)
      .type('application/json; charset=utf-8')
      .send({
        error: { code: 'invalid_request', message: bad ? 'the request URL is malformed' : 'the request is malformed' },
      });
  },
};

/**
 * `Expect: 100-continue`: a body over `bodyLimit` is refused (413 in JSON) before the client sends it, instead of
 * inviting it and refusing it half-sent; any other body is invited. `Expect` of anything else: 417 in JSON (Node
 * would answer with a bare status line).
 */
export function answerExpectationsInJson(app: FastifyInstance, bodyLimit: number): void {
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (Number(request.headers['content-length']) > bodyLimit) {
      const body = JSON.stringify(
        new GuardgateError('body_too_large', `the body is over the limit of ${bodyLimit} bytes`).toBody(),
      );
      response
        .writeHead(413, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          connection: 'close',
        })
        .end(body);
      return;
    }
    response.writeContinue();
    app.server.emit('request', request, response);
  });
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify(
      new GuardgateError('expectation_failed', 'only Expect: 100-continue is supported').toBody(),
    );
    response
      .writeHead(417, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      })
      .end(body);
  });
}

/** Replace the JSON body parser with one that refuses deep nesting first, then parses as fastify does. */
export function hardenJsonParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestedDeeperThan(body as string, maxDepth)) {
      done(new JsonBodyError(`the JSON body is nested deeper than ${maxDepth} levels`), undefined);
      return;
    }
    parse(request, body as string, (error, value) => {
      // The default parser refuses prototype keys with the same error as broken JSON: say which it was.
      if (error !== null && isJson(body as string))
        done(
          new PrototypeKeyError('the body has a "__proto__" or "constructor.prototype" key: such keys are refused'),
          undefined,
        );
      else done(error, value);
    });
  });
}
