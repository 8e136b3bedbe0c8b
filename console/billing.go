package console

// billingPages are the billing pages (see the package comment).
func (cons *Console) billingPages() []page { return nil }

var billingMessages = map[string]msg{}
