package admin

import (
	"strings"
	"testing"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

// TestAdapterDocumentRoundTrip: whatever the strings hold, the stored
// document reads back as the applied adapter.
func TestAdapterDocumentRoundTrip(t *testing.T) {
	ca := string(testCA(t))
	tests := []struct {
		name string
		in   *adminv1.Adapter
		want *adminv1.UpstreamTls // nil: same as in.Tls
	}{
		{"plain", stripeAdapter(), nil},
		{"yaml-significant text", &adminv1.Adapter{Name: "x", BaseUrl: "https://h/a: b #c", Headers: []*adminv1.Header{
			{Name: "X-A", ValueTemplate: "true"}, {Name: "X-B", ValueTemplate: "'quoted' \"both\""}, {Name: "X-C", ValueTemplate: "- [x]"},
			{Name: "X-D", ValueTemplate: " lead and trail "}, {Name: "X-E", ValueTemplate: "tab\there, ünïcode, \\ backslash"},
			{Name: "X-F", ValueTemplate: "line\r\nbreak"}, {Name: "X-G", ValueTemplate: ""}, {Name: "X-H", ValueTemplate: "~"},
		}}, nil},
		{"pem bundle", &adminv1.Adapter{Name: "x", BaseUrl: "https://h", Tls: &adminv1.UpstreamTls{CaPem: ca + ca}}, nil},
		{"crlf pem", &adminv1.Adapter{Name: "x", BaseUrl: "https://h", Tls: &adminv1.UpstreamTls{CaPem: strings.ReplaceAll(ca, "\n", "\r\n")}},
			&adminv1.UpstreamTls{CaPem: ca}},
		{"pem without final newline", &adminv1.Adapter{Name: "x", BaseUrl: "https://h", Tls: &adminv1.UpstreamTls{CaPem: strings.TrimSuffix(ca, "\n")}},
			&adminv1.UpstreamTls{CaPem: ca}},
		{"odd ca text", &adminv1.Adapter{Name: "x", BaseUrl: "https://h", Tls: &adminv1.UpstreamTls{CaPem: "  indented\nx \n"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, fields := adapterDocument(tt.in)
			got, err := adapterFromDocument(tt.in.GetName(), doc)
			if err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			want := copyAdapter(tt.in)
			want.Source = adminv1.AdapterSource_ADAPTER_SOURCE_API
			if tt.want != nil {
				want.Tls = tt.want
			}
			diffProto(t, got, want)
			if lines := strings.Count(string(doc), "\n"); len(fields) != lines {
				t.Errorf("%d lines but %d field entries:\n%s", lines, len(fields), doc)
			}
		})
	}
}
