package console

// execPages are the exec pages (see the package comment).
func (cons *Console) execPages() []page { return nil }

var execMessages = map[string]msg{}
