package console

// repPages are the rep pages (see the package comment).
func (cons *Console) repPages() []page { return nil }

var repMessages = map[string]msg{}
