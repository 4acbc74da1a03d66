package auth

import (
	"context"
	"testing"

	"github.com/carehex/carehex"
	"golang.org/x/crypto/bcrypt"
)

// A Hasher with every slot taken makes the next comparison wait, and a
// waiter whose request is gone gives up without hashing.
func TestHasherBoundsAndGivesUp(t *testing.T) {
	h := NewHasher(1)
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := h.Compare(context.Background(), string(hash), "correct horse")
	if err != nil || !ok {
		t.Fatalf("Compare right password = %v, %v", ok, err)
	}
	if ok, err := h.Compare(context.Background(), string(hash), "wrong"); err != nil || ok {
		t.Fatalf("Compare wrong password = %v, %v", ok, err)
	}
	h.slots <- struct{}{} // someone else is hashing
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Compare(ctx, string(hash), "correct horse"); carehex.ErrorCode(err) != carehex.EUNAVAILABLE {
		t.Errorf("Compare with the slot taken and ctx done = %v, want unavailable", err)
	}
	<-h.slots
	if NewHasher(0).slots == nil || cap(NewHasher(0).slots) != 1 || DefaultHashConcurrency() < 1 {
		t.Error("a Hasher has at least one slot")
	}
}
