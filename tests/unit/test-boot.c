/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot rules (lcm/boot.h) on emulated devices: banks are versions that do
 * or do not verify, jumpstart and health are switches.  The rollback table of
 * the product description, counted in rounds of reboots, then the boot loader's
 * own rules: attempts of a pending bank, manual rollback, a corrupted active
 * bank, an unreadable boot state, a failure after jumpstart, and the boot
 * state record itself (atomic, checksummed).
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lcm/boot.h"
#include "tests/unit/check.h"
#include "lib/util.h"

struct fake_bank {
    const char *version; /* NULL: empty */
    bool corrupt;
};

struct fake_dev {
    struct fake_bank banks[2]; /* A, B */
    bool jumpstart_fails, health_fails;
    unsigned stops, jumpstarts;
};

struct server {
    char root[64];
    char dirs[3][128];
    struct fake_dev fake[3];
    struct boot_dev devs[3];
    unsigned n;
};

static struct fake_dev *
fake(void *aux, const struct boot_dev *d)
{
    struct server *s = aux;
    return &s->fake[d - s->devs];
}

static int
h_verify(void *aux, const struct boot_dev *d, char bank, char *why, size_t len)
{
    struct fake_bank *b = &fake(aux, d)->banks[bank - 'A'];
    if (!b->version) {
        snprintf(why, len, "empty bank");
        return -ENOENT;
    }
    if (b->corrupt) {
        snprintf(why, len, "bin/dse-dpud: SHA-256 mismatch");
        return -EBADMSG;
    }
    return 0;
}

static int
h_version(void *aux, const struct boot_dev *d, char bank, char *out, size_t len)
{
    struct fake_bank *b = &fake(aux, d)->banks[bank - 'A'];
    if (!b->version)
        return -ENOENT;
    snprintf(out, len, "%s", b->version);
    return 0;
}

static int
h_stop(void *aux, const struct boot_dev *d, char *why, size_t len)
{
    fake(aux, d)->stops++;
    return 0;
}

static int
h_jumpstart(void *aux, const struct boot_dev *d, char bank, char *why, size_t len)
{
    struct fake_dev *f = fake(aux, d);
    f->jumpstarts++;
    if (f->jumpstart_fails) {
        snprintf(why, len, "dse-dpud exited at once");
        return -EIO;
    }
    return 0;
}

static int
h_health(void *aux, const struct boot_dev *d, char *why, size_t len)
{
    if (fake(aux, d)->health_fails) {
        snprintf(why, len, "no answer on the control socket");
        return -ETIMEDOUT;
    }
    return 0;
}

static struct boot_hooks
hooks(struct server *s)
{
    return (struct boot_hooks){.verify = h_verify,
                               .version = h_version,
                               .stop = h_stop,
                               .jumpstart = h_jumpstart,
                               .health = h_health,
                               .aux = s};
}

/* A host and two DPUs, all on 1.0 in bank A with 2.0 installed in bank B and
 * pending: what an upgrade leaves before its reboot. */
static void
server_init(struct server *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->root, sizeof s->root, "/tmp/test-boot.XXXXXX");
    if (!mkdtemp(s->root))
        abort();
    static const char *const names[] = {"h1", "h1-dpu1", "h1-dpu2"};
    s->n = 3;
    for (unsigned i = 0; i < 3; i++) {
        snprintf(s->dirs[i], sizeof s->dirs[i], "%s/%s", s->root, names[i]);
        s->devs[i] = (struct boot_dev){
            .name = names[i], .dir = s->dirs[i], .is_host = i == 0, .reboot = true};
        s->fake[i].banks[0].version = "1.0";
        s->fake[i].banks[1].version = "2.0";
        struct bootstate st;
        bootstate_init(&st);
        st.booted = 'A';
        st.pending = 'B';
        ASSERT_EQ(bootstate_save(s->dirs[i], &st), 0);
    }
}

static void
server_fini(struct server *s)
{
    ASSERT_EQ(fs_remove_at(AT_FDCWD, s->root), 0);
}

/* Boots the server and checks that every device ended ready on 'want' with
 * nothing pending; '*rounds' says how many rounds of reboots it took. */
static void
reboot_server(struct server *s, const char *want, unsigned *rounds)
{
    struct boot_hooks h = hooks(s);
    *rounds = 0;
    char err[512] = "";
    for (unsigned i = 0; i < s->n; i++)
        s->devs[i].reboot = true;
    int rc = boot_server(s->devs, s->n, &h, rounds, err, sizeof err);
    if (rc)
        fprintf(stderr, "boot_server: %s\n", err);
    ASSERT_EQ(rc, 0);
    for (unsigned i = 0; i < s->n; i++) {
        ASSERT_STREQ(s->devs[i].version, want);
        struct bootstate st;
        ASSERT_EQ(bootstate_load(s->dirs[i], &st, err, sizeof err), 0);
        ASSERT_EQ(st.pending, 0); /* nothing left half-done */
        ASSERT_EQ(st.active, s->devs[i].bank);
    }
}

#define REBOOTS(s, want, n)                                                                        \
    do {                                                                                           \
        unsigned rounds_;                                                                          \
        reboot_server(s, want, &rounds_);                                                          \
        ASSERT_EQ(rounds_, n);                                                                     \
    } while (0)

static void
upgrade_boots_everything_in_one_round(void)
{
    struct server s;
    server_init(&s);
    REBOOTS(&s, "2.0", 1);
    ASSERT_EQ(s.fake[1].jumpstarts, 1);
    server_fini(&s);
}

static void
table_a_dpus_fine_host_fails_2_reboots(void)
{
    struct server s;
    server_init(&s);
    s.fake[0].banks[1].corrupt = true; /* the host's new bank */
    REBOOTS(&s, "1.0", 2);
    ASSERT_EQ(s.devs[0].st.last_result, BOOT_RESULT_ROLLED_BACK);
    ASSERT_EQ(s.fake[1].jumpstarts, 2); /* the DPUs booted 2.0, then 1.0 again */
    ASSERT_EQ(s.fake[0].jumpstarts, 1);
    server_fini(&s);
}

static void
table_b_dpus_fail_host_fine_1_reboot(void)
{
    struct server s;
    server_init(&s);
    s.fake[1].banks[1].corrupt = true;
    s.fake[2].banks[1].corrupt = true;
    REBOOTS(&s, "1.0", 1);
    ASSERT_EQ(s.devs[0].st.last_result, BOOT_RESULT_ROLLED_BACK); /* it followed them */
    ASSERT_TRUE(strstr(s.devs[0].st.last_reason, "h1-dpu1 rolled back") != NULL);
    for (unsigned i = 0; i < 3; i++)
        ASSERT_EQ(s.fake[i].jumpstarts, 1);
    server_fini(&s);
}

static void
table_c_one_dpu_older_2_reboots(void)
{
    struct server s;
    server_init(&s);
    s.fake[2].banks[1].corrupt = true; /* dpu2 stays on 1.0 */
    REBOOTS(&s, "1.0", 2);
    ASSERT_EQ(s.fake[1].jumpstarts, 2); /* dpu1 booted 2.0 and was brought back */
    ASSERT_EQ(s.fake[2].jumpstarts, 1);
    server_fini(&s);
}

static void
table_d_one_dpu_older_host_fails_2_reboots(void)
{
    struct server s;
    server_init(&s);
    s.fake[2].banks[1].corrupt = true;
    s.fake[0].banks[1].corrupt = true;
    REBOOTS(&s, "1.0", 2);
    ASSERT_EQ(s.fake[1].jumpstarts, 2);
    server_fini(&s);
}

static void
pending_bank_is_given_up_after_its_attempts(void)
{
    struct server s;
    server_init(&s);
    /* Three boots of bank B that never finished (a crash each time). */
    for (unsigned i = 0; i < 3; i++) {
        struct bootstate st;
        char err[256];
        ASSERT_EQ(bootstate_load(s.dirs[i], &st, err, sizeof err), 0);
        st.attempts = st.max_attempts;
        ASSERT_EQ(bootstate_save(s.dirs[i], &st), 0);
    }
    REBOOTS(&s, "1.0", 1);
    ASSERT_TRUE(strstr(s.devs[1].st.last_reason, "did not finish booting in 3 attempts") != NULL);
    server_fini(&s);
}

static void
manual_rollback_boots_the_other_bank(void)
{
    struct server s;
    server_init(&s);
    REBOOTS(&s, "2.0", 1);
    struct boot_hooks h = hooks(&s);
    char err[256];
    for (unsigned i = 0; i < 3; i++)
        ASSERT_EQ(boot_request_rollback(s.dirs[i], &h, &s.devs[i], err, sizeof err), 0);
    REBOOTS(&s, "1.0", 1);
    /* An empty other bank: refused. */
    s.fake[1].banks[1].version = NULL;
    ASSERT_EQ(boot_request_rollback(s.dirs[1], &h, &s.devs[1], err, sizeof err), -ENOENT);
    ASSERT_TRUE(strstr(err, "empty") != NULL);
    server_fini(&s);
}

static void
corrupted_active_bank_boots_the_other(void)
{
    struct server s;
    server_init(&s);
    REBOOTS(&s, "2.0", 1);
    for (unsigned i = 0; i < 3; i++)
        s.fake[i].banks[1].corrupt = true; /* 2.0, now active, rots */
    REBOOTS(&s, "1.0", 1);
    ASSERT_EQ(s.devs[1].st.active, 'A');
    server_fini(&s);
}

static void
unreadable_boot_state_boots_a_bank_that_verifies(void)
{
    struct server s;
    server_init(&s);
    s.fake[1].banks[0].corrupt = true; /* dpu1: only B verifies */
    char path[256];
    snprintf(path, sizeof path, "%s/boot/state", s.dirs[1]);
    FILE *f = fopen(path, "r+");
    ASSERT_NOT_NULL(f);
    fseek(f, 2, SEEK_SET);
    fputc('X', f); /* one byte changed: the checksum no longer matches */
    fclose(f);
    /* dpu1 ends on 2.0 (B); the host and dpu2 boot their pending 2.0 as well. */
    REBOOTS(&s, "2.0", 1);
    ASSERT_TRUE(strstr(s.devs[1].st.last_reason, "checksum mismatch") != NULL);
    server_fini(&s);
}

static void
failure_after_jumpstart_does_not_roll_back(void)
{
    struct server s;
    server_init(&s);
    s.fake[1].health_fails = true;
    struct boot_hooks h = hooks(&s);
    unsigned rounds;
    char err[512];
    ASSERT_EQ(boot_server(s.devs, s.n, &h, &rounds, err, sizeof err), -EIO);
    ASSERT_TRUE(strstr(err, "h1-dpu1") && strstr(err, "no answer on the control socket"));
    ASSERT_EQ(s.devs[1].st.last_result, BOOT_RESULT_FAILED);
    ASSERT_STREQ(s.devs[1].st.last_stage, "ready");
    ASSERT_EQ(s.devs[1].st.active, 'B'); /* stays on the new bank, marked failed */
    ASSERT_STREQ(s.devs[0].version, "2.0");
    server_fini(&s);
}

static void
lone_dpu_that_cannot_come_forward_takes_the_server_back(void)
{
    struct server s;
    server_init(&s);
    REBOOTS(&s, "2.0", 1);
    /* The host alone: the DPUs keep running their 2.0. */
    for (unsigned i = 0; i < 3; i++)
        s.devs[i].reboot = i == 0;
    struct boot_hooks h0 = hooks(&s);
    unsigned rounds0;
    char err0[512];
    ASSERT_EQ(boot_server(s.devs, s.n, &h0, &rounds0, err0, sizeof err0), 0);
    ASSERT_EQ(rounds0, 1);
    ASSERT_EQ(s.fake[1].jumpstarts, 1);
    /* dpu2 alone: the host and dpu1 keep running. */
    for (unsigned i = 0; i < 3; i++)
        s.devs[i].reboot = i == 2;
    struct boot_hooks h = hooks(&s);
    unsigned rounds;
    char err[512];
    unsigned host_starts = s.fake[0].jumpstarts, host_stops = s.fake[0].stops;
    ASSERT_EQ(boot_server(s.devs, s.n, &h, &rounds, err, sizeof err), 0);
    ASSERT_EQ(rounds, 1);
    ASSERT_EQ(s.fake[0].jumpstarts, host_starts);
    ASSERT_EQ(s.fake[0].stops, host_stops);
    ASSERT_EQ(s.fake[2].jumpstarts, 2);
    /* Again, but its 2.0 bank rots: it falls back to 1.0 ... */
    s.fake[2].banks[1].corrupt = true;
    for (unsigned i = 0; i < 3; i++)
        s.devs[i].reboot = i == 2;
    int rc = boot_server(s.devs, s.n, &h, &rounds, err, sizeof err);
    /* ... and cannot come forward to 2.0 again: the host and dpu1 go back to
     * 1.0 with it, in a second round. */
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(rounds, 2);
    for (unsigned i = 0; i < 3; i++)
        ASSERT_STREQ(s.devs[i].version, "1.0");
    ASSERT_EQ(s.fake[0].jumpstarts, host_starts + 1);
    server_fini(&s);
}

static void
bootstate_record_is_checked(void)
{
    struct bootstate st, back;
    bootstate_init(&st);
    st.pending = 'B';
    st.attempts = 2;
    snprintf(st.last_reason, sizeof st.last_reason, "x \"quoted\"\n");
    char buf[BOOTSTATE_MAX_LEN], err[256];
    size_t len = bootstate_format(&st, buf, sizeof buf);
    ASSERT_GT(len, 0);
    ASSERT_TRUE(bootstate_parse(buf, len, &back, err, sizeof err));
    ASSERT_EQ(back.pending, 'B');
    ASSERT_EQ(back.attempts, 2);
    ASSERT_STREQ(back.last_reason, st.last_reason);
    /* Every truncation and every single flipped byte is refused. */
    for (size_t cut = 0; cut < len; cut++)
        ASSERT_FALSE(bootstate_parse(buf, cut, &back, err, sizeof err));
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x20;
        ASSERT_FALSE(bootstate_parse(buf, len, &back, err, sizeof err));
        buf[i] ^= 0x20;
    }
    ASSERT_TRUE(bootstate_parse(buf, len, &back, err, sizeof err));
}

TEST_MAIN(TEST(upgrade_boots_everything_in_one_round), TEST(table_a_dpus_fine_host_fails_2_reboots),
          TEST(table_b_dpus_fail_host_fine_1_reboot), TEST(table_c_one_dpu_older_2_reboots),
          TEST(table_d_one_dpu_older_host_fails_2_reboots),
          TEST(pending_bank_is_given_up_after_its_attempts),
          TEST(manual_rollback_boots_the_other_bank), TEST(corrupted_active_bank_boots_the_other),
          TEST(unreadable_boot_state_boots_a_bank_that_verifies),
          TEST(failure_after_jumpstart_does_not_roll_back),
          TEST(lone_dpu_that_cannot_come_forward_takes_the_server_back),
          TEST(bootstate_record_is_checked))
