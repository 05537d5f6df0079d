/* SPDX-License-Identifier: Apache-2.0 */
/* base64 (lib/base64.h): RFC 4648 §10 vectors, round trips, strict refusals. */
#include "lib/base64.h"
#include "tests/unit/check.h"

static void
base64_encodes_rfc4648_vectors(void)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char text[16];
        size_t n = strlen(in[i]);
        ASSERT_EQ(base64_encoded_size(n), strlen(out[i]) + 1);
        ASSERT_EQ(base64_encode((const uint8_t *)in[i], n, text), strlen(out[i]));
        ASSERT_STREQ(text, out[i]);
        uint8_t back[16];
        size_t len;
        ASSERT_TRUE(base64_decode(out[i], strlen(out[i]), back, &len));
        ASSERT_EQ(len, n);
        ASSERT_EQ(memcmp(back, in[i], n), 0);
    }
}

static void
base64_round_trips_every_byte(void)
{
    uint8_t data[300], back[300];
    char text[401];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof data; n++) {
        size_t t = base64_encode(data, n, text), len = 0;
        ASSERT_EQ(t + 1, base64_encoded_size(n));
        ASSERT_TRUE(base64_decode(text, t, back, &len));
        ASSERT_EQ(len, n);
        ASSERT_EQ(memcmp(back, data, n), 0);
    }
}

static void
base64_refuses_malformed_text(void)
{
    static const char *const bad[] = {
        "Zg",       /* not a multiple of 4 */
        "Zg=",      /* the same */
        "Z===",     /* too much padding */
        "=Zg=",     /* padding first */
        "Zg==Zm9v", /* padding inside */
        "Zh==",     /* bits the padding drops are not zero */
        "Zm9=",     /* the same, one byte of padding */
        "Zm9v!A==", /* outside the alphabet */
        "Zm9 v",    /* whitespace */
        "Zm9v\n",   /* a line break */
        "Zg=a",     /* '=' then data */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t len;
        if (base64_decode(bad[i], strlen(bad[i]), out, &len))
            CHECK_FAIL_("accepted \"%s\"", bad[i]);
    }
}

TEST_MAIN(TEST(base64_encodes_rfc4648_vectors), TEST(base64_round_trips_every_byte),
          TEST(base64_refuses_malformed_text))
