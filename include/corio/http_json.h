/* corio/http_json.h — a response body as JSON (aiohttp's response.json()),
 * with jansson's values.  Not included by corio.h: a program that uses it
 * includes this header, and gets jansson through pkg-config's corio-http
 * module (jansson is a public requirement there). */
#ifndef CORIO_HTTP_JSON_H
#define CORIO_HTTP_JSON_H

#include "http_client.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Read the rest of the body and parse it as JSON: 0 and *out, a new
 * reference the caller must json_decref, or CORIO_EJSON (not valid JSON),
 * or an error of corio_http_response_body (its limits and timeouts apply).
 * On failure *out = NULL.
 * Cancel-safe: as corio_http_response_read (the connection is closed). */
CORIO_API CORIO_NODISCARD int corio_http_response_json(corio_http_response *r,
                                                       json_t **out);

#ifdef __cplusplus
}
#endif
#endif
