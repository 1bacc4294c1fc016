// Command argo-conformance answers, with Argo Events' own code (v1.9.11, pinned by this module),
// what a Sensor does with a Kafka message: the event it receives and the payload a trigger builds
// from it. The Python emulator
// (devstack/argo) is checked against it case by case (tests/devstack/argo/test_conformance.py).
//
// One JSON case per line on stdin, one JSON result per line on stdout, in order:
//
//	{"kind": "event",  "message": M}
//	  -> {"data": base64 of the event data the Sensor sees, "context": the EventContext as JSON}
//	{"kind": "payload", "events": {"<dependency>": M, ...}, "payload": [<trigger parameters>]}
//	  -> {"payload": base64 of the body} or {"error": "..."} or {"panic": "..."}   (triggers.ConstructPayload)
//	{"kind": "calendar", "eventSource": "ticks", "eventName": "t", "calendar": <CalendarEventSource>}
//	  -> {"data": base64 of the first tick's event data}   (calendar.EventListener.StartListening)
//
// M is one Kafka message and the EventSource settings it went through:
//
//	{"eventSource": "orders", "eventName": "orders", "id": "...", "time": RFC 3339,
//	 "topic": "orders", "partition": 0, "key": "k" | "keyBase64": "...", "timestampMs": 1700000000000,
//	 "headers": [["name", "base64 of the value"], ...], "jsonBody": true,
//	 "value": "text" | "valueBase64": "..." (neither: a null value), "metadata": {...}}
//
// or another source's event, its data given as the Sensor receives it:
// {"type": "calendar", "dataBase64": "...", "eventSource": ..., "eventName": ..., "id": ..., "time": ...}.
// A message the EventSource would reject (a jsonBody value that is not JSON) answers
// {"rejected": "..."} whatever the kind. Payload parameters are the manifest's own JSON
// ([]v1alpha1.TriggerParameter). What upstream prints
// (ResolveParamValue's fallbacks, the listener's logs) goes to stderr, never among the results.
//
// Upstream code called: events.KafkaEventData and encoding/json (what the Kafka EventSource's
// processOne marshals), cloudevents.NewEvent / SetData / json.Marshal (what eventing.go publishes
// on the EventBus), json.Unmarshal into a cloudevents.Event (what the JetStream trigger
// connection reads), triggers.ConstructPayload (what the Sensor runs, as the HTTP and Kafka
// triggers call it), and the calendar EventSource's own listener
// (calendar.EventListener.StartListening, run until its first tick). Two small steps are
// unexported upstream and restated here: processOne's field-by-field build of KafkaEventData
// (with sarama's message time in UTC, a pod's zone) and the Sensor's convertEvent (listener.go),
// a struct copy of the CloudEvent's context attributes and data.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	eventsourcecommon "github.com/argoproj/argo-events/pkg/eventsources/common"
	"github.com/argoproj/argo-events/pkg/eventsources/events"
	"github.com/argoproj/argo-events/pkg/eventsources/sources/calendar"
	"github.com/argoproj/argo-events/pkg/metrics"
	"github.com/argoproj/argo-events/pkg/sensors/triggers"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type message struct {
	EventSource string            `json:"eventSource"`
	EventName   string            `json:"eventName"`
	ID          string            `json:"id"`
	Time        time.Time         `json:"time"`
	Topic       string            `json:"topic"`
	Partition   int32             `json:"partition"`
	Key         string            `json:"key"`
	KeyBase64   *string           `json:"keyBase64"`
	TimestampMs int64             `json:"timestampMs"`
	Headers     [][2]string       `json:"headers"`
	JSONBody    bool              `json:"jsonBody"`
	Value       *string           `json:"value"`
	ValueBase64 *string           `json:"valueBase64"`
	Metadata    map[string]string `json:"metadata"`
	// Another source's event: its type and its data as the Sensor receives it (calendar ticks).
	Type       string  `json:"type"`
	DataBase64 *string `json:"dataBase64"`
}

type testCase struct {
	Kind        string                        `json:"kind"`
	Message     *message                      `json:"message"`
	Events      map[string]*message           `json:"events"`
	Payload     []v1alpha1.TriggerParameter   `json:"payload"`
	EventSource string                        `json:"eventSource"`
	EventName   string                        `json:"eventName"`
	Calendar    *v1alpha1.CalendarEventSource `json:"calendar"`
}

// calendarTimeout bounds the wait for a first tick (a case asks for a short interval).
const calendarTimeout = 30 * time.Second

var listenerMetrics = metrics.NewMetrics("argo-conformance")

// firstTick runs the real calendar EventSource listener until it dispatches its first event.
func firstTick(c *testCase) result {
	listener := &calendar.EventListener{
		EventSourceName:     c.EventSource,
		EventName:           c.EventName,
		CalendarEventSource: *c.Calendar,
		Metrics:             listenerMetrics,
	}
	ctx, cancel := context.WithTimeout(context.Background(), calendarTimeout)
	defer cancel()
	ticks := make(chan []byte, 1)
	failed := make(chan error, 1)
	go func() {
		failed <- listener.StartListening(ctx, func(data []byte, _ ...eventsourcecommon.Option) error {
			select {
			case ticks <- data:
			default:
			}
			return nil
		})
	}()
	select {
	case data := <-ticks:
		return result{"data": data}
	case err := <-failed:
		if err == nil {
			err = fmt.Errorf("the listener stopped without an event")
		}
		return result{"error": err.Error()}
	case <-ctx.Done():
		return result{"error": fmt.Sprintf("no calendar event within %s", calendarTimeout)}
	}
}

type result map[string]any

// rejected is an event the EventSource does not publish.
type rejected struct{ reason string }

func (r rejected) Error() string { return r.reason }

// kafkaEventData is pkg/eventsources/sources/kafka/start.go processOne (no schema registry):
// the message as the KafkaEventData it marshals.
func kafkaEventData(m *message) ([]byte, error) {
	var value []byte
	if m.ValueBase64 != nil {
		decoded, err := base64.StdEncoding.DecodeString(*m.ValueBase64)
		if err != nil {
			return nil, fmt.Errorf("valueBase64: %w", err)
		}
		value = decoded
	} else if m.Value != nil {
		value = []byte(*m.Value)
	}
	key := m.Key
	if m.KeyBase64 != nil {
		decoded, err := base64.StdEncoding.DecodeString(*m.KeyBase64)
		if err != nil {
			return nil, fmt.Errorf("keyBase64: %w", err)
		}
		key = string(decoded)
	}
	eventData := &events.KafkaEventData{
		Topic:     m.Topic,
		Key:       key,
		Partition: int(m.Partition),
		// sarama's message time; the pod's local zone is UTC.
		Timestamp: time.UnixMilli(m.TimestampMs).UTC().String(),
		Metadata:  m.Metadata,
	}
	headers := make(map[string]string)
	for _, h := range m.Headers {
		value, err := base64.StdEncoding.DecodeString(h[1])
		if err != nil {
			return nil, fmt.Errorf("headers: %w", err)
		}
		headers[h[0]] = string(value)
	}
	eventData.Headers = headers
	if m.JSONBody {
		eventData.Body = (*json.RawMessage)(&value)
	} else {
		eventData.Body = value
	}
	eventBody, err := json.Marshal(eventData)
	if err != nil {
		return nil, rejected{fmt.Sprintf("failed to marshal the event data, rejecting the event, %v", err)}
	}
	return eventBody, nil
}

// sensorEvent is the event as the Sensor's triggers see it: published as
// pkg/eventsources/eventing.go does, read back as the JetStream trigger connection does, then
// listener.go's convertEvent.
func sensorEvent(m *message) (*v1alpha1.Event, error) {
	var data []byte
	var err error
	eventType := string(v1alpha1.KafkaEvent)
	if m.DataBase64 != nil {
		data, err = base64.StdEncoding.DecodeString(*m.DataBase64)
		eventType = m.Type
	} else {
		data, err = kafkaEventData(m)
	}
	if err != nil {
		return nil, err
	}
	event := cloudevents.NewEvent()
	event.SetID(m.ID)
	event.SetType(eventType)
	event.SetSource(m.EventSource)
	event.SetSubject(m.EventName)
	event.SetTime(m.Time)
	if err := event.SetData(cloudevents.ApplicationJSON, data); err != nil {
		return nil, err
	}
	published, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	var received *cloudevents.Event
	if err := json.Unmarshal(published, &received); err != nil {
		return nil, err
	}
	return &v1alpha1.Event{
		Context: &v1alpha1.EventContext{
			DataContentType: received.Context.GetDataContentType(),
			Source:          received.Context.GetSource(),
			SpecVersion:     received.Context.GetSpecVersion(),
			Type:            received.Context.GetType(),
			Time:            metav1.Time{Time: received.Context.GetTime()},
			ID:              received.Context.GetID(),
			Subject:         received.Context.GetSubject(),
		},
		Data: received.Data(),
	}, nil
}

func run(c *testCase) (out result) {
	defer func() {
		if r := recover(); r != nil {
			out = result{"panic": fmt.Sprint(r)}
		}
	}()
	fail := func(err error) result {
		if r, ok := err.(rejected); ok {
			return result{"rejected": r.reason}
		}
		return result{"error": err.Error()}
	}
	switch c.Kind {
	case "event":
		if c.Message == nil {
			return result{"error": "event: no message"}
		}
		event, err := sensorEvent(c.Message)
		if err != nil {
			return fail(err)
		}
		context, err := json.Marshal(event.Context)
		if err != nil {
			return fail(err)
		}
		return result{"data": event.Data, "context": json.RawMessage(context)}
	case "payload":
		resolved := make(map[string]*v1alpha1.Event, len(c.Events))
		for name, m := range c.Events {
			event, err := sensorEvent(m)
			if err != nil {
				return fail(err)
			}
			resolved[name] = event
		}
		payload, err := triggers.ConstructPayload(resolved, c.Payload)
		if err != nil {
			return result{"error": err.Error()}
		}
		return result{"payload": payload} // []byte: base64 in JSON
	case "calendar":
		if c.Calendar == nil {
			return result{"error": "calendar: no calendar event source"}
		}
		return firstTick(c)
	default:
		return result{"error": fmt.Sprintf("unknown kind %q (event, payload, calendar)", c.Kind)}
	}
}

func main() {
	// ResolveParamValue prints its fallbacks with fmt.Printf: they go to stderr, the results
	// alone to stdout.
	results := os.Stdout
	os.Stdout = os.Stderr
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(results)
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)
	for {
		line, readErr := in.ReadBytes('\n')
		if len(line) > 0 {
			var c testCase
			var r result
			if err := json.Unmarshal(line, &c); err != nil {
				r = result{"error": "case is not valid JSON: " + err.Error()}
			} else {
				r = run(&c)
			}
			if err := encoder.Encode(r); err != nil {
				fmt.Fprintln(os.Stderr, "argo-conformance:", err)
				os.Exit(1)
			}
			if err := out.Flush(); err != nil {
				os.Exit(1)
			}
		}
		if readErr != nil {
			return
		}
	}
}
