package console

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The tag library's order: tags within their group, and the groups. The
// page's script reorders by dragging or by the move buttons and saves the
// whole order at once (PUT /v1/tags/order); without the script each move
// button posts here (tagMove), which does the same for one step.

// tagMove moves one tag within its group, or one group, a step up or down
// ("move" is tag:<id>:up|down or group:<name>:up|down) and saves the
// library's order through the API.
func (cons *Console) tagMove(c *fiber.Ctx) error {
	lib, err := cons.tagLibrary(c)
	if err != nil {
		return cons.fail(c, err)
	}
	groups := lib.groups()
	if !moveStep(groups, c.FormValue("move")) {
		return cons.fail(c, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Field: "move",
			Message: langOf(c).T("mk.order.stale")})
	}
	ids := make([]string, 0, len(lib.Tags))
	for _, g := range groups {
		for _, t := range g.Tags {
			ids = append(ids, t.ID)
		}
	}
	if err := cons.clientOf(c).send(fiber.MethodPut, "/v1/tags/order", map[string][]string{"tags": ids}, nil); err != nil {
		v := cons.viewOf(c, "nav.tags")
		formError(v, err)
		v.Field = ""
		c.Status(statusOf(err))
		return cons.renderTags(c, v, tagForm{})
	}
	return back(c, "/app/tags", "mk.order.saved")
}

// moveStep applies move to groups in place; false when it names no tag or
// group there, or goes past an end (the page was stale).
func moveStep(groups []tagGroup, move string) bool {
	rest, dir, ok := cutLastColon(move)
	if !ok || (dir != "up" && dir != "down") {
		return false
	}
	step := 1
	if dir == "up" {
		step = -1
	}
	kind, name, _ := strings.Cut(rest, ":")
	switch kind {
	case "group":
		for i, g := range groups {
			if g.Name == name {
				return swap(groups, i, i+step)
			}
		}
	case "tag":
		for _, g := range groups {
			for i, t := range g.Tags {
				if t.ID == name {
					return swap(g.Tags, i, i+step)
				}
			}
		}
	}
	return false
}

func cutLastColon(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// swap exchanges s[i] and s[j] when both are in range.
func swap[T any](s []T, i, j int) bool {
	if i < 0 || j < 0 || i >= len(s) || j >= len(s) {
		return false
	}
	s[i], s[j] = s[j], s[i]
	return true
}

var tagOrderMessages = map[string]msg{
	"mk.order.hint":       {"拖动 ⠿ 调整标签或标签组的顺序，或用 ↑ ↓ 按钮（键盘可用）。排在前面的在企业微信和侧边栏中也显示在前。", "Drag ⠿ to reorder tags or groups, or use the ↑ ↓ buttons (keyboard too). What comes first here comes first in WeCom and the sidebar."},
	"mk.order.tag.up":     {"上移标签 %s", "Move tag %s up"},
	"mk.order.tag.down":   {"下移标签 %s", "Move tag %s down"},
	"mk.order.group.up":   {"上移标签组 %s", "Move group %s up"},
	"mk.order.group.down": {"下移标签组 %s", "Move group %s down"},
	"mk.order.drag":       {"拖动以调整顺序", "Drag to reorder"},
	"mk.order.moved":      {"已移动，正在保存顺序…", "Moved: saving the order…"},
	"mk.order.saved":      {"顺序已保存。", "Order saved."},
	"mk.order.stale":      {"这个标签或标签组已不在原位置（页面已过期）：请刷新后重试。", "That tag or group is no longer where the page showed it: reload and try again."},
}
