/* SPDX-License-Identifier: Apache-2.0 */
/* drops: names and descriptions of the drop reasons, from the one X-macro list. */
#include "dataplane/drops.h"

static const char *const drop_names[DROP__N] = {[DROP_NONE] = "none",
#define DROP_NAME_(e, name, what) [DROP_##e] = name,
                                                DROP_REASONS(DROP_NAME_)
#undef DROP_NAME_
};

static const char *const drop_whats[DROP__N] = {[DROP_NONE] = "not dropped",
#define DROP_WHAT_(e, name, what) [DROP_##e] = what,
                                                DROP_REASONS(DROP_WHAT_)
#undef DROP_WHAT_
};

const char *
drop_reason_name(enum drop_reason r)
{
    return (unsigned)r < DROP__N ? drop_names[r] : "none";
}

const char *
drop_reason_what(enum drop_reason r)
{
    return (unsigned)r < DROP__N ? drop_whats[r] : "not dropped";
}
