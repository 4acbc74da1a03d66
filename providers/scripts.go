package providers

import (
	"context"
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts, one file each; every file's header documents its KEYS,
// ARGV and replies. lib.lua holds helpers several scripts share; it is put in
// front of them here because Redis scripts cannot include one another.
var (
	//go:embed lib.lua
	libLua string
	//go:embed heartbeat.lua
	heartbeatLua string
	//go:embed claim.lua
	claimLua string
	//go:embed release.lua
	releaseLua string
	//go:embed commit.lua
	commitLua string
	//go:embed finish.lua
	finishLua string
	//go:embed sweep.lua
	sweepLua string
	//go:embed restore.lua
	restoreLua string
	//go:embed remove.lua
	removeLua string
	//go:embed geonear.lua
	geonearLua string
	//go:embed fence.lua
	fenceLua string
)

var (
	heartbeatScript = redis.NewScript(libLua + heartbeatLua)
	claimScript     = redis.NewScript(libLua + claimLua)
	releaseScript   = redis.NewScript(libLua + releaseLua)
	commitScript    = redis.NewScript(commitLua)
	fenceScript     = redis.NewScript(fenceLua)
	finishScript    = redis.NewScript(libLua + finishLua)
	sweepScript     = redis.NewScript(libLua + sweepLua)
	restoreScript   = redis.NewScript(libLua + restoreLua)
	removeScript    = redis.NewScript(libLua + removeLua)
	geonearScript   = redis.NewScript(geonearLua)
)

// scriptCall is one script invocation of a batch.
type scriptCall struct {
	keys []string
	args []any
}

// runBatch runs many calls of one script in a single pipeline (Rebuild and
// the benchmark place thousands of providers). A pipelined EVALSHA cannot fall
// back to EVAL when the server has not seen the script (a restarted Redis has
// an empty script cache), so on NOSCRIPT it loads the script (on every
// cluster master) and runs the batch again; every script is safe to repeat.
func runBatch(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, calls []scriptCall) ([]*redis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		cmds := make([]*redis.Cmd, len(calls))
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, c := range calls {
				cmds[i] = s.EvalSha(ctx, p, c.keys, c.args...)
			}
			return nil
		})
		if err != nil && attempt == 0 && isNoScript(err) {
			if err := s.Load(ctx, rdb).Err(); err != nil {
				return nil, err
			}
			continue
		}
		return cmds, err
	}
}

func isNoScript(err error) bool { return redis.HasErrorPrefix(err, "NOSCRIPT") }
