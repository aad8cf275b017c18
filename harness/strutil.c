/* strutil.c: small helpers on C strings. */
#include "strutil.h"

#include <string.h>

int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}
