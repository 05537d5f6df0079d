/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "lib/util.h"

#include <errno.h>
#include <unistd.h>

static void
mac_parse_accepts_colon_form(void)
{
    uint8_t mac[6];
    char s[MAC_STRLEN];
    ASSERT_TRUE(mac_parse("02:D5:00:01:0a:ff", mac));
    mac_format(mac, s);
    ASSERT_STREQ(s, "02:d5:00:01:0a:ff");
}

static void
mac_parse_refuses_garbage(void)
{
    uint8_t mac[6];
    ASSERT_FALSE(mac_parse("", mac));
    ASSERT_FALSE(mac_parse("02:00:00:00:00", mac));
    ASSERT_FALSE(mac_parse("02:00:00:00:00:001", mac));
    ASSERT_FALSE(mac_parse("02-00-00-00-00-01", mac));
    ASSERT_FALSE(mac_parse("0g:00:00:00:00:01", mac));
}

static void
parse_long_checks_range_and_trailing(void)
{
    long v;
    ASSERT_TRUE(parse_long("4094", 1, 4094, &v));
    ASSERT_EQ(v, 4094);
    ASSERT_FALSE(parse_long("4095", 1, 4094, &v));
    ASSERT_FALSE(parse_long("10x", 1, 4094, &v));
    ASSERT_FALSE(parse_long("", 1, 4094, &v));
}

static void
name_is_valid_refuses_odd_characters(void)
{
    ASSERT_TRUE(name_is_valid("pg-web.1", 15));
    ASSERT_FALSE(name_is_valid("-pg", 15));
    ASSERT_FALSE(name_is_valid("pg web", 15));
    ASSERT_FALSE(name_is_valid("a/b", 15));
    ASSERT_FALSE(name_is_valid("0123456789abcdef", 15));
}

static void
fs_write_atomic_replaces_whole_file(void)
{
    char dir[] = "/tmp/dse-test-util-XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/state.json", dir);
    ASSERT_EQ(fs_write_atomic(path, "first", 5), 0);
    ASSERT_EQ(fs_write_atomic(path, "second", 6), 0);
    size_t len;
    char *s = fs_read_file(path, 1024, &len);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(len, 6);
    ASSERT_STREQ(s, "second");
    free(s);
    ASSERT_EQ(fs_read_file(path, 3, &len) == NULL && errno == EFBIG, 1);
    unlink(path);
    rmdir(dir);
}

static void
parse_cpu_list_reads_lists_and_ranges(void)
{
    int c[8];
    ASSERT_EQ(parse_cpu_list("3", c, 8, 4), 1);
    ASSERT_EQ(c[0], 3);
    ASSERT_EQ(parse_cpu_list("0-2,7", c, 8, 8), 4);
    ASSERT_EQ(c[2], 2);
    ASSERT_EQ(c[3], 7);
    ASSERT_EQ(parse_cpu_list("", c, 8, 8), -1);
    ASSERT_EQ(parse_cpu_list("4", c, 8, 4), -1);   /* no such CPU */
    ASSERT_EQ(parse_cpu_list("1,1", c, 8, 4), -1); /* twice */
    ASSERT_EQ(parse_cpu_list("2-1", c, 8, 4), -1);
    ASSERT_EQ(parse_cpu_list("1,", c, 8, 4), -1);
    ASSERT_EQ(parse_cpu_list("a", c, 8, 4), -1);
    ASSERT_EQ(parse_cpu_list("-1", c, 8, 4), -1);
    ASSERT_EQ(parse_cpu_list("0-7", c, 4, 8), -1); /* more than 'max' */
}

static void
hex_round_trips_and_refuses_garbage(void)
{
    const uint8_t in[4] = {0x00, 0x7f, 0xa5, 0xff};
    uint8_t out[4];
    char s[9];
    hex_format(in, 4, s);
    ASSERT_STREQ(s, "007fa5ff");
    ASSERT_TRUE(hex_parse("007FA5ff", out, 4));
    ASSERT_EQ(memcmp(in, out, 4), 0);
    ASSERT_FALSE(hex_parse("007fa5f", out, 4));
    ASSERT_FALSE(hex_parse("007fa5ff0", out, 4));
    ASSERT_FALSE(hex_parse("007fa5fg", out, 4));
    ASSERT_FALSE(hex_parse("", out, 4));
}

TEST_MAIN(TEST(parse_cpu_list_reads_lists_and_ranges), TEST(mac_parse_accepts_colon_form),
          TEST(mac_parse_refuses_garbage), TEST(parse_long_checks_range_and_trailing),
          TEST(name_is_valid_refuses_odd_characters), TEST(fs_write_atomic_replaces_whole_file),
          TEST(hex_round_trips_and_refuses_garbage))
