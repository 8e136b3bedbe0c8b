package console

// customerPages are the customer pages (see the package comment).
func (cons *Console) customerPages() []page { return nil }

var customerMessages = map[string]msg{}
