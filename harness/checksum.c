/* checksum.c: SHA-256 self-check of JSON files (see checksum.h). */
#include "checksum.h"

#include "error.h"
#include "fsutil.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

static const char INTRO[] = ",\n  \"checksum\": \"";
static const char OUTRO[] = "\"\n}\n";

void checksum_append(struct jw *w)
{
	char hex[65];
	sha256_hex(w->buf, w->len, hex);
	jw_kstr(w, "checksum", hex);
}

int checksum_verify(const char *text, size_t len, const char *name)
{
	size_t il = sizeof INTRO - 1, ol = sizeof OUTRO - 1;
	if (len < il + 64 + ol || memcmp(text + len - ol, OUTRO, ol) ||
	    memcmp(text + len - ol - 64 - il, INTRO, il))
		return error("'%s': no checksum at the end: the file was cut short or edited", name);
	size_t body = len - ol - 64 - il;
	char hex[65];
	sha256_hex(text, body, hex);
	if (memcmp(hex, text + body + il, 64))
		return error("'%s': checksum mismatch: the file is corrupt or was edited", name);
	return 0;
}

struct json *checksum_parse_file(const char *path)
{
	char *text;
	size_t len;
	if (fs_read_file(path, &text, &len) < 0)
		return NULL;
	struct json *j = NULL;
	if (checksum_verify(text, len, path) == 0)
		j = json_parse(text, path);
	free(text);
	return j;
}
