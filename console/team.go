package console

// teamPages are the team pages (see the package comment).
func (cons *Console) teamPages() []page { return nil }

var teamMessages = map[string]msg{}
