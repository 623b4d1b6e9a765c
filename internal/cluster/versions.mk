# The Temporal server releases hookbridge is tested on, each named once: the
# Makefile includes this file, internal/cluster embeds it.
#
# The current release: the stock-cluster suite, docker-compose.yml, make bench.
TEMPORAL_SERVER_VERSION := v1.32.2
# The oldest supported release, the latest patch of its line: the
# authentication suite and make bench run on it too.
TEMPORAL_SERVER_OLDEST_VERSION := v1.29.7
# The Go toolchain that builds each: v1.32 declares go 1.26.10, newer than the
# Go that builds hookbridge, and is built with the approved go1.27.3 alone.
TEMPORAL_SERVER_VERSION_GOTOOLCHAIN := go1.27.3
TEMPORAL_SERVER_OLDEST_VERSION_GOTOOLCHAIN := local
