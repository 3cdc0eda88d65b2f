package main

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/client"
)

func (a *app) groupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "subcloud-group", Short: "Manage subcloud groups"}
	cmd.AddCommand(a.groupAdd(), a.groupList(), a.groupShow(), a.groupUpdate(), a.groupDelete(), a.groupListSubclouds())
	return cmd
}

func groupHeader() []string {
	return []string{"id", "name", "description", "update apply type", "max parallel subclouds"}
}

func groupRow(g *dc.Group) []string {
	return []string{strconv.FormatInt(g.ID, 10), g.Name, g.Description, string(g.UpdateApplyType), strconv.Itoa(g.MaxParallelSubclouds)}
}

func groupFields(g *dc.Group) table {
	return fieldTable([][2]string{
		{"id", strconv.FormatInt(g.ID, 10)},
		{"name", g.Name},
		{"description", g.Description},
		{"update apply type", string(g.UpdateApplyType)},
		{"max parallel subclouds", strconv.Itoa(g.MaxParallelSubclouds)},
		{"created_at", g.CreatedAt.Format(time.RFC3339)},
		{"updated_at", g.UpdatedAt.Format(time.RFC3339)},
	})
}

func (a *app) printGroup(g *dc.Group) error {
	return a.print(g, func() table { return groupFields(g) })
}

func (a *app) groupAdd() *cobra.Command {
	var (
		req       client.GroupRequest
		applyType string
	)
	cmd := &cobra.Command{
		Use:   "add --name NAME",
		Short: "Add a subcloud group",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.UpdateApplyType = dc.ApplyType(applyType)
			c, err := a.client()
			if err != nil {
				return err
			}
			g, err := c.CreateGroup(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.printGroup(g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "group name (required)")
	f.StringVar(&req.Description, "description", "", "description")
	f.StringVar(&applyType, "update-apply-type", "", "serial or parallel (default parallel)")
	f.IntVar(&req.MaxParallelSubclouds, "max-parallel-subclouds", 0, "subclouds updated at once (default 2)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (a *app) groupList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List subcloud groups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.Groups(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(list, func() table {
				t := table{header: groupHeader()}
				for _, g := range list {
					t.rows = append(t.rows, groupRow(g))
				}
				return t
			})
		},
	}
}

func (a *app) groupOne(use, short string, call func(ctx context.Context, c *client.Client, ref string) (*dc.Group, error)) *cobra.Command {
	return oneArg(a, use, "GROUP", short, call, a.printGroup)
}

func (a *app) groupShow() *cobra.Command {
	return a.groupOne("show", "Show a subcloud group (name or id)", func(ctx context.Context, c *client.Client, ref string) (*dc.Group, error) {
		return c.Group(ctx, ref)
	})
}

func (a *app) groupDelete() *cobra.Command {
	return a.groupOne("delete", "Delete a subcloud group (not Default, and empty)", func(ctx context.Context, c *client.Client, ref string) (*dc.Group, error) {
		return c.DeleteGroup(ctx, ref)
	})
}

func (a *app) groupUpdate() *cobra.Command {
	var (
		name, description, applyType string
		maxPar                       int
	)
	var cmd *cobra.Command
	cmd = a.groupOne("update", "Update a subcloud group", func(ctx context.Context, c *client.Client, ref string) (*dc.Group, error) {
		var u client.GroupUpdate
		f := cmd.Flags()
		if f.Changed("name") {
			u.Name = &name
		}
		if f.Changed("description") {
			u.Description = &description
		}
		if f.Changed("update-apply-type") {
			at := dc.ApplyType(applyType)
			u.UpdateApplyType = &at
		}
		if f.Changed("max-parallel-subclouds") {
			u.MaxParallelSubclouds = &maxPar
		}
		return c.UpdateGroup(ctx, ref, u)
	})
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "new name")
	f.StringVar(&description, "description", "", "new description")
	f.StringVar(&applyType, "update-apply-type", "", "serial or parallel")
	f.IntVar(&maxPar, "max-parallel-subclouds", 0, "subclouds updated at once")
	return cmd
}

func (a *app) groupListSubclouds() *cobra.Command {
	return &cobra.Command{
		Use:   "list-subclouds GROUP",
		Short: "List the subclouds of a group",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.GroupSubclouds(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.print(list, func() table { return subcloudTable(list) })
		},
	}
}
