package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/firebreak-ops/firebreak/internal/codec"
)

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create and rotate the keys Temporal payloads are encrypted with",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "generate <file>",
		Short: "Write a new key file with one key (refuses to overwrite one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err == nil {
				return fmt.Errorf("%s already exists: rotate it with `firebreak keys rotate %s` (replacing it would make its histories unreadable)", args[0], args[0])
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			k, _, err := codec.EnsureKeyFile(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "wrote %s with key %s; point encryption.keyFile (FIREBREAK_PAYLOAD_KEY_FILE) at it, keep it secret and back it up\n", args[0], k.Active())
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate <file>",
		Short: "Add a new active key; the old ones stay to decrypt what they wrote",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := codec.RotateKeyFile(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "key %s is now active in %s; restart every Firebreak process (workers first) so all encrypt with it; keep the old keys in the file\n", id, args[0])
			return nil
		},
	})
	return cmd
}
