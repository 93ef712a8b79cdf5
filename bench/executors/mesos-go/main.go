// The benchmark's mesos-go executor: answers each LAUNCH with TASK_RUNNING then TASK_FINISHED (no child
// process), keeps every update until the agent ACKNOWLEDGEs it, and exits on SHUTDOWN or a lost stream.
// Written against the mesos-go v1 executor library as Debian ships it (golang-github-mesos-mesos-go-dev,
// 0.0.6, Mesos 1.4 protos). Build: GOPATH=/usr/share/gocode GO111MODULE=off go build -o <out> main.go
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

type benchExecutor struct {
	cfg    config.Config
	sender calls.Sender
	// What the agent has not acknowledged yet, as a SUBSCRIBE after a reconnection would list it.
	unackedUpdates map[string]executor.Call_Update
	unackedTasks   map[mesos.TaskID]mesos.TaskInfo
}

// A random (version 4) RFC 4122 uuid, as the agent validates it.
func newUUID() []byte {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return b
}

func (e *benchExecutor) update(ctx context.Context, taskID mesos.TaskID, state mesos.TaskState) error {
	now := float64(time.Now().UnixNano()) / 1e9
	status := mesos.TaskStatus{
		TaskID:     taskID,
		State:      state.Enum(),
		Source:     mesos.SOURCE_EXECUTOR.Enum(),
		ExecutorID: &mesos.ExecutorID{Value: e.cfg.ExecutorID},
		UUID:       newUUID(),
		Timestamp:  &now,
	}
	call := calls.Update(status)
	e.unackedUpdates[string(status.UUID)] = *call.Update
	resp, err := e.sender.Send(ctx, calls.NonStreaming(call))
	if resp != nil {
		resp.Close()
	}
	return err
}

func (e *benchExecutor) handle(ctx context.Context, event *executor.Event) (done bool, err error) {
	switch event.Type {
	case executor.Event_SUBSCRIBED:
	case executor.Event_LAUNCH:
		task := event.Launch.Task
		e.unackedTasks[task.TaskID] = task
		if err = e.update(ctx, task.TaskID, mesos.TASK_RUNNING); err == nil {
			err = e.update(ctx, task.TaskID, mesos.TASK_FINISHED)
		}
	case executor.Event_ACKNOWLEDGED:
		delete(e.unackedTasks, event.Acknowledged.TaskID)
		delete(e.unackedUpdates, string(event.Acknowledged.UUID))
	case executor.Event_KILL:
		err = e.update(ctx, event.Kill.TaskID, mesos.TASK_KILLED)
	case executor.Event_SHUTDOWN:
		done = true
	}
	return
}

func run() error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	client := httpcli.New(
		httpcli.Endpoint("http://"+cfg.AgentEndpoint+"/api/v1/executor"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(30*time.Second))),
	)
	e := &benchExecutor{
		cfg:            cfg,
		sender:         calls.SenderWith(httpexec.NewSender(client.Send), calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)),
		unackedUpdates: map[string]executor.Call_Update{},
		unackedTasks:   map[mesos.TaskID]mesos.TaskInfo{},
	}
	ctx := context.Background()
	resp, err := e.sender.Send(ctx, calls.NonStreaming(calls.Subscribe(nil, nil)))
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Close()
	for {
		var event executor.Event
		if err := resp.Decode(&event); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("event stream: %w", err)
		}
		done, err := e.handle(ctx, &event)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mesos-go bench executor:", err)
		os.Exit(1)
	}
}
