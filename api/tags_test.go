package api_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/cdp"
	"github.com/siyu-dev/siyu/internal/testenv"
)

type tagList struct {
	Tags  []cdp.Tag `json:"tags"`
	Live  int       `json:"live"`
	Limit int       `json:"limit"`
}

type customerTagsResult struct {
	ContactID string `json:"contact_id"`
	Results   []struct {
		TagID  string `json:"tag_id"`
		Name   string `json:"name"`
		Action string `json:"action"`
		Status string `json:"status"`
	} `json:"results"`
}

// createTag defines a tag through the API, which must accept it.
func (f *fixture) createTag(t *testing.T, key, name, group string) cdp.Tag {
	t.Helper()
	status, body := f.do(t, http.MethodPost, "/v1/tags", key, mustJSON(t, map[string]any{"name": name, "group": group}))
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var tag cdp.Tag
	require.NoError(t, json.Unmarshal(body, &tag))
	return tag
}

func (f *fixture) listTags(t *testing.T, key, query string) tagList {
	t.Helper()
	status, body := f.do(t, http.MethodGet, "/v1/tags"+query, key, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var l tagList
	require.NoError(t, json.Unmarshal(body, &l))
	return l
}

// tagCustomer posts add/remove lists for a customer and returns the answer.
func (f *fixture) tagCustomer(t *testing.T, key, contact string, add, remove []string) (int, []byte) {
	t.Helper()
	return f.do(t, http.MethodPost, "/v1/customers/"+contact+"/tags", key,
		mustJSON(t, map[string]any{"add": add, "remove": remove}))
}

// waitProfileTags polls until the customer's profile lists exactly want
// ("name/group" per tag, in tag id order).
func (f *fixture) waitProfileTags(t *testing.T, tenant, contact string, want ...string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		pr, err := f.profiles.Get(f.ctx, tenant, contact)
		if err != nil {
			return err
		}
		got := make([]string, len(pr.Tags))
		for i, tg := range pr.Tags {
			got[i] = tg.Name + "/" + tg.Group
		}
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s/%s has tags %q, want %q", tenant, contact, got, want)
		}
		return nil
	})
}

func names(tags []cdp.Tag) []string {
	out := make([]string, len(tags))
	for i, tg := range tags {
		out[i] = tg.Group + "/" + tg.Name
	}
	return out
}

func orders(tags []cdp.Tag) []int64 {
	out := make([]int64, len(tags))
	for i, tg := range tags {
		out[i] = tg.Order
	}
	return out
}

func TestTagLibrary(t *testing.T) {
	f := newFixture(t)
	vip := f.createTag(t, "acme-marketer", "  VIP ", "Value")
	require.True(t, strings.HasPrefix(vip.ID, "tag_"), vip.ID)
	require.Equal(t, "VIP", vip.Name, "trimmed")
	require.NotNil(t, vip.CreatedAt)

	t.Run("names are unique within a group", func(t *testing.T) {
		// Right after the create: ClickHouse may not show VIP yet, the process does.
		status, body := f.do(t, http.MethodPost, "/v1/tags", "acme-admin", mustJSON(t, map[string]any{"name": "VIP", "group": "Value"}))
		require.Equal(t, http.StatusConflict, status, "%s", body)
		e := decodeError(t, body)
		require.Equal(t, "name", e.Field)
		require.Contains(t, e.Message, vip.ID)
		f.createTag(t, "acme-admin", "VIP", "City")
		f.createTag(t, "acme-admin", "vip", "Value")
	})

	t.Run("two concurrent creates of one name: one wins", func(t *testing.T) {
		body := mustJSON(t, map[string]any{"name": "Race", "group": "Value"})
		statuses := make([]int, 8)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest(http.MethodPost, "/v1/tags", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+f.keys["acme-admin"])
				req.Header.Set("Content-Type", "application/json")
				resp, err := f.srv.App().Test(req, -1)
				if err == nil {
					statuses[i] = resp.StatusCode
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		sort.Ints(statuses)
		require.Equal(t, []int{201, 409, 409, 409, 409, 409, 409, 409}, statuses)
	})

	t.Run("patch", func(t *testing.T) {
		path := "/v1/tags/" + vip.ID
		status, body := f.do(t, http.MethodPatch, path, "acme-marketer", mustJSON(t, map[string]any{"name": "Gold", "order": 7}))
		require.Equal(t, http.StatusOK, status, "%s", body)
		var got cdp.Tag
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, cdp.Tag{ID: vip.ID, Name: "Gold", Group: "Value", Order: 7, CreatedAt: vip.CreatedAt, UpdatedAt: got.UpdatedAt}, got)
		require.True(t, got.UpdatedAt.After(*vip.UpdatedAt))

		status, body = f.do(t, http.MethodPatch, path, "acme-marketer", mustJSON(t, map[string]any{"name": "Race"}))
		require.Equal(t, http.StatusConflict, status, "%s", body)
		require.Equal(t, "name", decodeError(t, body).Field)
	})

	t.Run("delete", func(t *testing.T) {
		doomed := f.createTag(t, "acme-admin", "Doomed", "")
		path := "/v1/tags/" + doomed.ID
		status, body := f.do(t, http.MethodDelete, path, "acme-marketer", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), `"deleted":true`)

		require.NotContains(t, names(f.listTags(t, "acme-admin", "").Tags), "/Doomed")
		require.Contains(t, names(f.listTags(t, "acme-admin", "?include_deleted=true").Tags), "/Doomed")
		status, body = f.do(t, http.MethodGet, path, "acme-rep-s1", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Contains(t, string(body), `"deleted":true`)
		for _, m := range []string{http.MethodPatch, http.MethodDelete} {
			status, body = f.do(t, m, path, "acme-admin", mustJSON(t, map[string]any{"name": "Back"}))
			require.Equal(t, http.StatusNotFound, status, "%s %s", m, body)
			require.Contains(t, decodeError(t, body).Message, "deleted")
		}
		// A deleted tag's name is free again.
		f.createTag(t, "acme-admin", "Doomed", "")
	})

	t.Run("list", func(t *testing.T) {
		l := f.listTags(t, "acme-rep-s1", "")
		require.Equal(t, []string{"Value/Gold", "Value/Race", "Value/vip", "/Doomed", "City/VIP"}, names(l.Tags),
			"Value holds the highest order (Gold's 7): first")
		require.Equal(t, 5, l.Live)
		require.Equal(t, cdp.MaxTags, l.Limit)
	})

	t.Run("order", func(t *testing.T) {
		ids := map[string]string{}
		for _, tg := range f.listTags(t, "acme-admin", "").Tags {
			ids[tg.Group+"/"+tg.Name] = tg.ID
		}
		order := func(key string, names ...string) (int, []byte) {
			var list []string
			for _, n := range names {
				list = append(list, cmp.Or(ids[n], n))
			}
			return f.do(t, http.MethodPut, "/v1/tags/order", key, mustJSON(t, map[string]any{"tags": list}))
		}
		want := []string{"City/VIP", "/Doomed", "Value/vip", "Value/Gold", "Value/Race"}
		status, body := order("acme-marketer", want...)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var got tagList
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, want, names(got.Tags), "answers the library in its new order")
		require.Equal(t, []int64{4, 3, 2, 1, 0}, orders(got.Tags))
		require.Equal(t, want, names(f.listTags(t, "acme-rep-s1", "").Tags))

		refusals := []struct {
			name, key  string
			list       []string
			wantStatus int
			wantField  string
		}{
			{"a tag left out", "acme-marketer", want[:4], 409, "tags"},
			{"unknown", "acme-marketer", append(append([]string{}, want...), "tag_nope"), 409, "tags[5]"},
			{"twice", "acme-marketer", []string{"City/VIP", "City/VIP", "/Doomed", "Value/vip", "Value/Gold", "Value/Race"}, 400, "tags[1]"},
			{"a group apart", "acme-marketer", []string{"Value/vip", "City/VIP", "Value/Gold", "/Doomed", "Value/Race"}, 400, "tags[2]"},
			{"a blank id", "acme-marketer", []string{" "}, 400, "tags[0]"},
			{"a rep may not", "acme-rep-s1", want, 403, ""},
			{"another tenant's tags", "globex-admin", want, 409, "tags[0]"},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				status, body := order(tt.key, tt.list...)
				require.Equal(t, tt.wantStatus, status, "%s", body)
				require.Equal(t, tt.wantField, decodeError(t, body).Field)
			})
		}
		status, body = f.do(t, http.MethodPut, "/v1/tags/order", "acme-marketer", []byte(`{}`))
		require.Equal(t, http.StatusBadRequest, status, "%s", body)
		require.Equal(t, "tags", decodeError(t, body).Field)
		require.Equal(t, want, names(f.listTags(t, "acme-admin", "").Tags), "a refusal changes nothing")
	})

	t.Run("ClickHouse folds the same library", func(t *testing.T) {
		want := f.listTags(t, "acme-admin", "?include_deleted=true").Tags
		fresh := cdp.NewTags(f.conn) // no overlay of this process's writes
		testenv.Eventually(t, 20*time.Second, func() error {
			got, err := fresh.List(f.ctx, "acme")
			if err != nil {
				return err
			}
			cdp.SortTags(got)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("ClickHouse has %v, want %v", got, want)
			}
			return nil
		})
		got, err := fresh.Get(f.ctx, "acme", vip.ID)
		require.NoError(t, err)
		require.Equal(t, "Gold", got.Name)
		require.Equal(t, int64(1), got.Order, "as the order subtest numbered it")
		_, err = fresh.Get(f.ctx, "acme", "tag_nothing")
		require.ErrorIs(t, err, cdp.ErrTagNotFound)
	})

	t.Run("validation names the field", func(t *testing.T) {
		tests := []struct {
			name, method, path, body, wantField string
		}{
			{"no name", "POST", "/v1/tags", `{"group": "x"}`, "name"},
			{"blank name", "POST", "/v1/tags", `{"name": "  "}`, "name"},
			{"name too long", "POST", "/v1/tags", `{"name": "` + strings.Repeat("名", 31) + `"}`, "name"},
			{"group too long", "POST", "/v1/tags", `{"name": "a", "group": "` + strings.Repeat("g", 31) + `"}`, "group"},
			{"order not a number", "POST", "/v1/tags", `{"name": "a", "order": "x"}`, "order"},
			{"negative order", "POST", "/v1/tags", `{"name": "a", "order": -1}`, "order"},
			{"unknown field", "POST", "/v1/tags", `{"name": "a", "colour": "red"}`, "colour"},
			{"not JSON", "POST", "/v1/tags", `name=a`, "body"},
			{"empty patch", "PATCH", "/v1/tags/" + vip.ID, `{}`, "body"},
			{"id too long", "PATCH", "/v1/tags/" + strings.Repeat("x", 129), `{"name": "a"}`, "id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body := f.do(t, tt.method, tt.path, "acme-admin", []byte(tt.body))
				require.Equal(t, http.StatusBadRequest, status, "%s", body)
				require.Equal(t, tt.wantField, decodeError(t, body).Field)
			})
		}
		status, body := f.do(t, http.MethodPatch, "/v1/tags/tag_nothing", "acme-admin", []byte(`{"name": "a"}`))
		require.Equal(t, http.StatusNotFound, status, "%s", body)
	})
}

func TestTagLimit(t *testing.T) {
	f := newFixture(t)
	// A server whose library holds 2 tags; the default (3,000) is tested in cdp.
	deps := f.deps
	deps.Tags = cdp.NewTagLibrary(f.conn)
	deps.Tags.Limit = 2
	deps.Registry = prometheus.NewRegistry()
	f.srv = api.New(deps)

	a := f.createTag(t, "acme-admin", "a", "")
	f.createTag(t, "acme-admin", "b", "")
	status, body := f.do(t, http.MethodPost, "/v1/tags", "acme-admin", mustJSON(t, map[string]any{"name": "c"}))
	require.Equal(t, http.StatusUnprocessableEntity, status, "%s", body)
	e := decodeError(t, body)
	require.Equal(t, "tag_limit", e.Code)
	require.Contains(t, e.Message, "at most 2 tags")

	// Other tenants have their own library.
	f.createTag(t, "globex-admin", "c", "")
	// Existing tags still change, and deleting one frees a place.
	status, body = f.do(t, http.MethodPatch, "/v1/tags/"+a.ID, "acme-admin", mustJSON(t, map[string]any{"name": "a2"}))
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, body = f.do(t, http.MethodDelete, "/v1/tags/"+a.ID, "acme-admin", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	f.createTag(t, "acme-admin", "c", "")
}

func TestCustomerTags(t *testing.T) {
	f := newFixture(t)
	vip := f.createTag(t, "acme-marketer", "VIP", "Value")
	bj := f.createTag(t, "acme-marketer", "Beijing", "City")
	doomed := f.createTag(t, "acme-marketer", "Doomed", "")

	status, body := f.tagCustomer(t, "acme-rep-s1", "c1", []string{vip.ID, bj.ID, vip.ID, doomed.ID}, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var res customerTagsResult
	require.NoError(t, json.Unmarshal(body, &res))
	require.Equal(t, "c1", res.ContactID)
	require.Len(t, res.Results, 3, "duplicates fold")
	require.Equal(t, "VIP", res.Results[0].Name)
	require.Equal(t, "add", res.Results[0].Action)
	require.Equal(t, "applied", res.Results[0].Status)
	f.waitProfileTags(t, "acme", "c1", "VIP/Value", "Beijing/City", "Doomed/")

	t.Run("the events name the rep and the API", func(t *testing.T) {
		var n uint64
		require.NoError(t, f.conn.QueryRow(f.ctx, `SELECT count() FROM events
			WHERE tenant = 'acme' AND subject = 'c1' AND type = 'tag.added'
			AND source = 'siyu-api' AND staff_id = 's1' AND startsWith(id, 'siyu-api-')`).Scan(&n))
		require.Equal(t, uint64(3), n)
	})

	t.Run("a deleted tag leaves the profile and is refused", func(t *testing.T) {
		status, body := f.do(t, http.MethodDelete, "/v1/tags/"+doomed.ID, "acme-admin", nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		f.waitProfileTags(t, "acme", "c1", "VIP/Value", "Beijing/City")
		status, body = f.tagCustomer(t, "acme-admin", "c2", []string{doomed.ID}, nil)
		require.Equal(t, http.StatusUnprocessableEntity, status, "%s", body)
		e := decodeError(t, body)
		require.Equal(t, "unknown_tag", e.Code)
		require.Equal(t, "add", e.Field)
		require.Contains(t, e.Message, doomed.ID)
	})

	t.Run("renames show on the profile", func(t *testing.T) {
		status, body := f.do(t, http.MethodPatch, "/v1/tags/"+bj.ID, "acme-admin", mustJSON(t, map[string]any{"name": "北京"}))
		require.Equal(t, http.StatusOK, status, "%s", body)
		f.waitProfileTags(t, "acme", "c1", "VIP/Value", "北京/City")
	})

	t.Run("remove", func(t *testing.T) {
		status, body := f.tagCustomer(t, "acme-manager", "c1", nil, []string{bj.ID})
		require.Equal(t, http.StatusOK, status, "%s", body)
		f.waitProfileTags(t, "acme", "c1", "VIP/Value")
		pr, err := f.profiles.Get(f.ctx, "acme", "c1")
		require.NoError(t, err)
		require.Equal(t, vip.ID, pr.Tags[0].TagID)
		require.NotNil(t, pr.Tags[0].Since)
	})

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name, key, contact string
			add, remove        []string
			wantStatus         int
			wantCode           string
			wantField          string
			wantInMsg          string
		}{
			{name: "unknown tag to add", key: "acme-admin", contact: "c1", add: []string{vip.ID, "tag_nothing"},
				wantStatus: 422, wantCode: "unknown_tag", wantField: "add", wantInMsg: `"tag_nothing"`},
			{name: "unknown tag to remove", key: "acme-admin", contact: "c1", remove: []string{"tag_nothing"},
				wantStatus: 422, wantCode: "unknown_tag", wantField: "remove", wantInMsg: `"tag_nothing"`},
			{name: "nothing to do", key: "acme-admin", contact: "c1",
				wantStatus: 400, wantCode: "invalid_request", wantField: "add"},
			{name: "add and remove one tag", key: "acme-admin", contact: "c1", add: []string{vip.ID}, remove: []string{vip.ID},
				wantStatus: 400, wantCode: "invalid_request", wantField: "remove", wantInMsg: vip.ID},
			{name: "empty tag id", key: "acme-admin", contact: "c1", add: []string{""},
				wantStatus: 400, wantCode: "invalid_request", wantField: "add[0]"},
			{name: "unknown customer", key: "acme-admin", contact: "nobody", add: []string{vip.ID},
				wantStatus: 404, wantCode: "not_found"},
			{name: "rep s1 on s2's customer", key: "acme-rep-s1", contact: "c2", add: []string{vip.ID},
				wantStatus: 404, wantCode: "not_found"},
			{name: "exec", key: "acme-exec", contact: "c1", add: []string{vip.ID},
				wantStatus: 403, wantCode: "forbidden"},
			{name: "billing", key: "acme-billing", contact: "c1", add: []string{vip.ID},
				wantStatus: 403, wantCode: "forbidden"},
			{name: "globex with acme's tag on its own c1", key: "globex-admin", contact: "c1", add: []string{vip.ID},
				wantStatus: 422, wantCode: "unknown_tag", wantField: "add"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body := f.tagCustomer(t, tt.key, tt.contact, tt.add, tt.remove)
				require.Equal(t, tt.wantStatus, status, "%s", body)
				e := decodeError(t, body)
				require.Equal(t, tt.wantCode, e.Code)
				require.Equal(t, tt.wantField, e.Field)
				require.Contains(t, e.Message, tt.wantInMsg)
			})
		}
		_, theirs := f.tagCustomer(t, "acme-rep-s1", "c2", []string{vip.ID}, nil)
		_, nobody := f.tagCustomer(t, "acme-rep-s1", "nobody", []string{vip.ID}, nil)
		require.JSONEq(t, string(nobody), string(theirs), "a rep cannot tell another rep's customer from none")
	})

	t.Run("rep s2 tags their own customer", func(t *testing.T) {
		status, body := f.tagCustomer(t, "acme-rep-s2", "c2", []string{vip.ID}, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		f.waitProfileTags(t, "acme", "c2", "VIP/Value")
		f.waitProfileTags(t, "globex", "c1")
	})
}

func TestTagRolesAndWalls(t *testing.T) {
	f := newFixture(t)
	vip := f.createTag(t, "acme-admin", "VIP", "Value")
	gx := f.createTag(t, "globex-admin", "VIP", "Value")
	newTag := mustJSON(t, map[string]any{"name": "New"})
	rename := mustJSON(t, map[string]any{"name": "Hijacked"})
	tests := []struct {
		name, key, method, path string
		body                    []byte
		wantStatus              int
	}{
		{"admin lists", "acme-admin", "GET", "/v1/tags", nil, 200},
		{"marketer lists", "acme-marketer", "GET", "/v1/tags", nil, 200},
		{"manager lists", "acme-manager", "GET", "/v1/tags", nil, 200},
		{"rep lists", "acme-rep-s1", "GET", "/v1/tags", nil, 200},
		{"exec may not list", "acme-exec", "GET", "/v1/tags", nil, 403},
		{"billing may not list", "acme-billing", "GET", "/v1/tags", nil, 403},
		{"no key", "", "GET", "/v1/tags", nil, 401},
		{"manager may not create", "acme-manager", "POST", "/v1/tags", newTag, 403},
		{"rep may not create", "acme-rep-s1", "POST", "/v1/tags", newTag, 403},
		{"rep may not rename", "acme-rep-s1", "PATCH", "/v1/tags/" + vip.ID, rename, 403},
		{"manager may not delete", "acme-manager", "DELETE", "/v1/tags/" + vip.ID, nil, 403},
		{"acme admin naming globex", "acme-admin", "GET", "/v1/tags?tenant=globex", nil, 403},
		{"acme admin creating in globex", "acme-admin", "POST", "/v1/tags?tenant=globex", newTag, 403},
		{"globex cannot see acme's tag", "globex-admin", "GET", "/v1/tags/" + vip.ID, nil, 404},
		{"globex cannot rename acme's tag", "globex-admin", "PATCH", "/v1/tags/" + vip.ID, rename, 404},
		{"globex cannot delete acme's tag", "globex-admin", "DELETE", "/v1/tags/" + vip.ID, nil, 404},
		{"platform needs a tenant", "platform", "GET", "/v1/tags", nil, 400},
		{"platform reads globex's tag", "platform", "GET", "/v1/tags/" + gx.ID + "?tenant=globex", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, tt.method, tt.path, tt.key, tt.body)
			require.Equal(t, tt.wantStatus, status, "%s", body)
		})
	}

	require.Equal(t, []string{"Value/VIP"}, names(f.listTags(t, "globex-admin", "").Tags))
	acme := f.listTags(t, "acme-admin", "").Tags
	require.Len(t, acme, 1)
	require.Equal(t, vip.ID, acme[0].ID)
	require.Equal(t, "VIP", acme[0].Name, "globex changed nothing")
	require.Len(t, f.listTags(t, "platform", "?tenant=acme").Tags, 1)
}

// TestTagWritesWithoutKafka: a write Kafka did not acknowledge answers 503
// and is not remembered as made.
func TestTagWritesWithoutKafka(t *testing.T) {
	f := newFixture(t)
	vip := f.createTag(t, "acme-admin", "VIP", "")
	dead, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.RecordDeliveryTimeout(time.Second))
	require.NoError(t, err)
	t.Cleanup(dead.Close)
	deps := f.deps // the same library, a producer that cannot deliver
	deps.Producer = dead
	deps.Registry = prometheus.NewRegistry()
	broken := *f
	broken.srv = api.New(deps)

	status, body := broken.do(t, http.MethodPost, "/v1/tags", "acme-admin", mustJSON(t, map[string]any{"name": "Lost"}))
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	require.Equal(t, "unavailable", decodeError(t, body).Code)

	status, body = broken.tagCustomer(t, "acme-admin", "c1", []string{vip.ID}, nil)
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	var res customerTagsResult
	require.NoError(t, json.Unmarshal(body, &res))
	require.Equal(t, "failed", res.Results[0].Status)

	f.createTag(t, "acme-admin", "Lost", "") // the failed create holds no name
}
