/* lib/encode.c's hex codec, the one every module uses: strict lowercase,
 * bounded by its length (no NUL terminator needed), nothing half-decoded. */
#include <string.h>
#include "enf.h"
#include "encode.h"
#include "tap.h"

int main(void)
{
	static const unsigned char bytes[] = { 0x00, 0x7f, 0xa5, 0xff };
	unsigned char out[4];
	char s[9], small[8];
	const char digits[8] = { '0', '0', '7', 'f', 'a', '5', 'f', 'f' };	/* no NUL */

	ok(hex_to_str(s, sizeof s, bytes, sizeof bytes) == ENF_OK && strcmp(s, "007fa5ff") == 0,
	   "hex_to_str writes lowercase digits and a NUL");
	ok(hex_to_str(small, sizeof small, bytes, sizeof bytes) == ENF_FAIL,
	   "hex_to_str refuses a buffer without room for the NUL");
	ok(hex_decode(digits, sizeof digits, out, sizeof out) == ENF_OK &&
	   memcmp(out, bytes, sizeof out) == 0, "decodes digits that are not NUL-terminated");
	ok(hex_decode("007FA5FF", 8, out, sizeof out) == ENF_NO, "upper case is not the spelling");
	memset(out, 0xee, sizeof out);
	ok(hex_decode("007fa5fg", 8, out, sizeof out) == ENF_NO &&
	   memcmp(out, "\0\0\0\0", 4) == 0, "a bad last digit fails and leaves nothing decoded");
	ok(hex_decode("007fa5f", 7, out, sizeof out) == ENF_NO, "an odd count fails");
	ok(hex_decode("007fa5ff00", 10, out, sizeof out) == ENF_NO, "too many digits fail");
	ok(hex_decode("007f a5f", 8, out, sizeof out) == ENF_NO, "a space is not a digit");
	ok(hex_decode("007f\0a5f", 8, out, sizeof out) == ENF_NO, "nor is a NUL");
	ok(hex_decode("", 0, out, 0) == ENF_OK, "nothing is the hex of nothing");
	return done_testing();
}
