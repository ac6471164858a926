/*
 * Wrong access codes from one source are slowed and then locked out for
 * a while (DESIGN.md "Identity and secrets"). Per process: a bounded
 * table of recent failures by peer address, oldest entry replaced.
 * Several instances behind a load balancer each keep their own count,
 * so the effective limit is per instance (XXX: a shared counter in the
 * store would make it global).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ra_int.h"

#define SLOTS		1024

struct slot {
	char	peer[64];
	time_t	first;		/* start of the window */
	time_t	until;		/* locked until */
	int	fails;
};

struct ra_throttle {
	pthread_mutex_t	lock;	/* guards slots */
	int		max_fails;	/* 0: never lock out */
	int		seconds;
	struct slot	slots[SLOTS];
};

struct ra_throttle *
ra_throttle_new(int max_fails, int seconds)
{
	struct ra_throttle	*t;

	if ((t = calloc(1, sizeof(*t))) != NULL) {
		pthread_mutex_init(&t->lock, NULL);
		t->max_fails = max_fails;
		t->seconds = seconds;
	}
	return t;
}

void
ra_throttle_free(struct ra_throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The slot of "peer", or the oldest one to reuse; lock held. */
static struct slot *
find(struct ra_throttle *t, const char *peer, bool create)
{
	struct slot	*oldest = &t->slots[0];
	size_t		 i;

	for (i = 0; i < SLOTS; i++) {
		if (strcmp(t->slots[i].peer, peer) == 0)
			return &t->slots[i];
		if (t->slots[i].first < oldest->first)
			oldest = &t->slots[i];
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->peer, sizeof(oldest->peer), "%s", peer);
	return oldest;
}

bool
ra_throttle_locked(struct ra_throttle *t, const char *peer, time_t now)
{
	struct slot	*s;
	bool		 locked;

	pthread_mutex_lock(&t->lock);
	s = find(t, peer, false);
	locked = s != NULL && s->until > now;
	pthread_mutex_unlock(&t->lock);
	return locked;
}

bool
ra_throttle_fail(struct ra_throttle *t, const char *peer, time_t now)
{
	struct slot	*s;
	bool		 locked = false;

	if (t->max_fails == 0)
		return false;
	pthread_mutex_lock(&t->lock);
	s = find(t, peer, true);
	if (now - s->first > t->seconds) {
		s->first = now;
		s->fails = 0;
	}
	if (++s->fails >= t->max_fails) {
		s->until = now + t->seconds;
		s->fails = 0;
		s->first = now;
		locked = true;
	}
	pthread_mutex_unlock(&t->lock);
	return locked;
}
