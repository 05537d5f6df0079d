/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fault: named fault points, so that tests can kill a process at an exact step
 * of a multi-step write (installing a bank, writing the boot state) and check
 * what a crash there leaves behind.
 *
 * A process started with DSE_FAULT=[PROG/]NAME[:N] kills itself with SIGKILL
 * the Nth time (default: the first) it passes fault_point(NAME), if its name
 * is PROG (when given: "dse-dpud/bank.commit.moved:1"): the same death as
 * `kill -9` or a power cut at that instant, minus the page cache (what was
 * written but not yet synced survives here; the fsync ordering of the writers
 * is what makes a real power cut safe).  Without DSE_FAULT a fault point costs
 * a string compare against NULL.
 *
 * Thread-safety: fault_point() may be called from any thread.
 */
#ifndef DSE_FAULT_H
#define DSE_FAULT_H

void fault_point(const char *name);

#endif
