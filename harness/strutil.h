/* strutil.h: small helpers on C strings shared by several modules. */
#ifndef DARKFOLD_STRUTIL_H
#define DARKFOLD_STRUTIL_H

/* qsort/bsearch comparator for an array of strings (char * or
 * const char *): strcmp order of the strings the elements point to. */
int cmp_str(const void *a, const void *b);

#endif
