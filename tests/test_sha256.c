/* test_sha256.c: digests checked against FIPS 180-4 examples and sha256sum. */
#include "sha256.h"

#include "error.h"
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void sha256_should_match_fips_examples(void **state)
{
	(void)state;
	char hex[65];
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_hex(two, strlen(two), hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void sha256_should_not_depend_on_chunking(void **state)
{
	(void)state;
	/* One million 'a' (FIPS 180-4 example), fed in uneven pieces. */
	struct sha256 s;
	sha256_init(&s);
	char buf[997];
	memset(buf, 'a', sizeof buf);
	size_t left = 1000000;
	while (left > 0) {
		size_t n = left < 997 ? left : (left % 7) + 1 + 900;
		if (n > left)
			n = left;
		sha256_update(&s, buf, n);
		left -= n;
	}
	char hex[65];
	sha256_final_hex(&s, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void sha256_file_should_match_sha256sum_and_fail_on_missing(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *path = xasprintf("%s/f.bin", dir);
	unsigned char data[5000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 31 + 7);
	test_write_file(path, data, sizeof data);
	char hex[65];
	assert_int_equal(sha256_file(path, hex), 0);
	char *cmd = xasprintf("sha256sum '%s' | cut -c1-64", path), *out;
	assert_int_equal(test_run(cmd, &out), 0);
	assert_memory_equal(out, hex, 64);
	char *missing = xasprintf("%s/nope", dir);
	assert_int_equal(sha256_file(missing, hex), -1);
	free(out);
	free(cmd);
	free(missing);
	free(path);
	test_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_should_match_fips_examples),
		cmocka_unit_test(sha256_should_not_depend_on_chunking),
		cmocka_unit_test(sha256_file_should_match_sha256sum_and_fail_on_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
